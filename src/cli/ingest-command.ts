import type { Command } from 'commander';
import { amqpIngestFeed } from '../connectors/amqp/ingest.js';
import { mqttIngestFeed } from '../connectors/mqtt/ingest.js';
import { userError } from '../errors.js';
import { runIngest, type BrokerFeed, type LanderOptions } from '../landing/index.js';

/** How `duckstream ingest` opens one kind of broker: its options (flags and -o key=value) → a feed and lander options. */
type IngestOpener = (url: string, options: Readonly<Record<string, string>>, dir: string) => { feed: BrokerFeed; lander: Omit<LanderOptions, 'what'> };

/** URL scheme → broker. One line per broker. */
const INGEST_SCHEMES: Readonly<Record<string, IngestOpener>> = {
  mqtt: mqttIngestFeed,
  mqtts: mqttIngestFeed,
  ws: mqttIngestFeed,
  wss: mqttIngestFeed,
  amqp: amqpIngestFeed,
  amqps: amqpIngestFeed,
};

interface IngestFlags {
  to: string;
  topic?: string;
  queue?: string;
  qos?: string;
  clientId?: string;
  clean?: boolean;
  dedupeKey?: string;
  option: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * Test hook: `DUCKSTREAM_TEST_KILL_AFTER_LANDED=<n>` SIGKILLs the process right after the append that lands the
 * n-th message is durable and before any of that append's messages is acknowledged (the duplicate window).
 */
const KILL_AFTER_ENV = 'DUCKSTREAM_TEST_KILL_AFTER_LANDED';

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description("land a broker's messages in an embedded log (acknowledged once durable), for jobs that read it with connector = 'log'")
    .argument(
      '<url>',
      `the broker: ${Object.keys(INGEST_SCHEMES)
        .map((s) => `${s}://`)
        .join(', ')}`,
    )
    .requiredOption('--to <dir>', 'the landing log directory (created with one partition when missing)')
    .option('--topic <filter>', "MQTT topic filter(s), comma-separated; wildcards + and # work (e.g. 'sensors/#')")
    .option('--queue <name>', 'AMQP: the classic or quorum queue to land')
    .option('--qos <n>', 'MQTT subscription QoS: 0, 1 (default) or 2')
    .option('--client-id <id>', 'client id (a persistent session needs the same one on every start; default derived from --to)')
    .option('--clean', 'MQTT clean session: messages published while ingest is down are not kept for it')
    .option('--dedupe-key <field>', 'a top-level JSON field naming a message: a message whose value was landed recently is dropped')
    .option('-o, --option <key=value>', "any other option of the broker's connector (docs/connectors/), repeatable", collect, [])
    .action(async (url: string, flags: IngestFlags) => {
      const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
      const open = scheme === undefined ? undefined : INGEST_SCHEMES[scheme];
      if (!open)
        throw userError(
          `duckstream ingest: cannot land from ${url}`,
          `give a url starting with ${Object.keys(INGEST_SCHEMES)
            .map((s) => `${s}://`)
            .join(', ')}`,
        );
      const given: Record<string, string> = {};
      for (const kv of flags.option) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw userError(`duckstream ingest: -o ${kv} is not key=value`, 'write e.g. -o keepalive_s=60');
        given[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      if (flags.topic !== undefined) given['topic'] = flags.topic;
      if (flags.queue !== undefined) given['queue'] = flags.queue;
      if (flags.qos !== undefined) given['qos'] = flags.qos;
      if (flags.clientId !== undefined) given['client_id'] = flags.clientId;
      if (flags.clean) given['clean'] = 'true';
      if (flags.dedupeKey !== undefined) given['dedupe_key'] = flags.dedupeKey;
      const { feed, lander } = open(url, given, flags.to);
      const killAfter = Number(process.env[KILL_AFTER_ENV] ?? 0);
      const controller = new AbortController();
      const stop = (signal: string) => {
        process.stderr.write(`duckstream ingest: ${signal}: stopping (messages not yet landed stay with the broker)\n`);
        controller.abort();
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.stderr.write(`duckstream ingest: landing ${url} into ${flags.to}\n`);
      const stats = await runIngest(
        flags.to,
        feed,
        {
          ...lander,
          what: 'duckstream ingest',
          ...(killAfter > 0 ? { afterAppend: (n: number) => (n >= killAfter ? process.kill(process.pid, 'SIGKILL') : undefined) } : {}),
        },
        controller.signal,
        () => process.stderr.write(`duckstream ingest: subscribed; landing (stop with SIGINT)\n`),
      );
      process.stderr.write(`duckstream ingest: stopped; landed ${stats.landed}, dropped ${stats.duplicates} duplicate${stats.duplicates === 1 ? '' : 's'}\n`);
    });
}
