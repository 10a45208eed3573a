import type { Command } from 'commander';
import { userError } from '../errors.js';
import { kafkaLogFromEnv } from './run-command.js';
import { DEFAULT_BASE_TIME, nexmarkConfig, parseKafkaTarget, writeNexmarkKafka, writeNexmarkLogs } from '../nexmark/index.js';

interface GenNexmarkOptions {
  events: string;
  rate: string;
  seed: string;
  partitions: string;
  baseTime?: string;
  realtime?: boolean;
  workers?: string;
  to: string;
}

/** `duckstream gen nexmark`: benchmark data into embedded logs or Kafka topics. */
export function registerGenCommand(program: Command): void {
  const gen = program.command('gen').description('generate benchmark data');
  gen
    .command('nexmark')
    .description(
      'Nexmark persons, auctions and bids (1:3:46) as JSON into the logs <to>/person, <to>/auction, <to>/bid, or the Kafka topics <prefix>person, <prefix>auction, <prefix>bid',
    )
    .requiredOption('--events <n>', 'number of events (all three kinds together)')
    .option('--rate <events/s>', 'event-time rate: consecutive events are 1/rate s apart', '10000')
    .option('--seed <s>', 'random seed: the same seed gives the same records', '1')
    .option('--partitions <n>', 'partitions per log (when creating the logs)', '4')
    .option('--base-time <iso>', `event time of the first event (default ${new Date(DEFAULT_BASE_TIME).toISOString()}, or now with --realtime)`)
    .option('--realtime', 'append at the event rate in wall-clock time instead of as fast as possible')
    .option('--workers <n>', 'generator threads, each appending to its share of the partitions (same records for any n; default: one per core)')
    .requiredOption(
      '--to <dir|kafka://host:port[,host:port…][/prefix]>',
      'directory of the three logs, or Kafka brokers and a topic prefix (records keyed by person/auction id)',
    )
    .action(async (o: GenNexmarkOptions) => {
      const kafka = parseKafkaTarget(o.to);
      const baseTime = o.baseTime === undefined ? (o.realtime ? Date.now() : DEFAULT_BASE_TIME) : Date.parse(o.baseTime);
      if (!Number.isFinite(baseTime)) throw userError(`--base-time must be an ISO-8601 time, got '${o.baseTime}'`);
      const config = nexmarkConfig({ rate: positive(o.rate, '--rate'), seed: Math.trunc(positive(o.seed, '--seed', true)), baseTime });
      const workers = o.workers === undefined ? undefined : positive(o.workers, '--workers');
      const events = positive(o.events, '--events');
      const r = kafka
        ? await writeNexmarkKafka(config, { target: kafka, events, realtime: o.realtime === true, log: kafkaLogFromEnv() })
        : await writeNexmarkLogs(config, {
            dir: o.to,
            events,
            partitions: positive(o.partitions, '--partitions'),
            realtime: o.realtime,
            ...(workers ? { workers } : {}),
          });
      const rate = Math.round((r.events * 1000) / r.wallMs);
      process.stdout.write(
        `wrote ${r.events} events (${r.records.person} persons, ${r.records.auction} auctions, ${r.records.bid} bids, ${(r.bytes / 1e6).toFixed(1)} MB) to ${o.to} in ${(r.wallMs / 1000).toFixed(2)} s (${rate} events/s) with ${r.workers} thread${r.workers === 1 ? '' : 's'}\n`,
      );
    });
}

function positive(text: string, name: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0) || (name !== '--rate' && !Number.isInteger(n))) {
    throw userError(`${name} must be a positive ${name === '--rate' ? 'number' : 'whole number'}, got '${text}'`);
  }
  return n;
}
