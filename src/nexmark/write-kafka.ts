import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaConfig, Message, TopicMessages } from 'kafkajs';
import { externalError, userError } from '../errors.js';
import { createKafka, kafkaErrorText } from '../connectors/kafka/client.js';
import { EVENT_KINDS } from './append-events.js';
import type { EventKind, NexmarkConfig } from './config.js';
import { NexmarkGenerator } from './generator.js';
import type { WriteNexmarkResult } from './write-log.js';

/** Where `gen nexmark --to kafka://host:port[,host:port…][/prefix]` writes. */
export interface KafkaTarget {
  readonly brokers: string[];
  /** Prepended as is to person, auction and bid. */
  readonly prefix: string;
}

/** Parse `kafka://host:port[,host:port…][/prefix]`; undefined when `to` is not a kafka:// URL. */
export function parseKafkaTarget(to: string): KafkaTarget | undefined {
  const m = /^kafka:\/\/([^/]*)(?:\/(.*))?$/i.exec(to);
  if (!m) return undefined;
  const brokers = m[1]!
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  const bad = brokers.find((b) => !/^[^:\s]+:\d+$/.test(b));
  if (brokers.length === 0 || bad !== undefined) {
    throw userError(
      `${to}: expected kafka://host:port[,host:port…][/prefix]${bad ? `, got broker '${bad}'` : ''}`,
      'e.g. --to kafka://localhost:9092/nexmark-',
    );
  }
  const prefix = m[2] ?? '';
  if (!/^[A-Za-z0-9._-]*$/.test(prefix)) throw userError(`${to}: the topic prefix '${prefix}' may only hold letters, digits, '.', '_' and '-'`);
  return { brokers, prefix };
}

export interface WriteNexmarkKafkaOptions {
  readonly target: KafkaTarget;
  readonly events: number;
  /** Events generated and sent per step (one sendBatch for the three topics). */
  readonly chunk?: number;
  readonly realtime?: boolean;
  readonly signal?: AbortSignal;
  /** kafkajs client settings on top of the brokers (timeouts, retries, ssl, sasl…). */
  readonly client?: Partial<KafkaConfig>;
  /** Let kafkajs log its errors (KafkaClientOptions.log). */
  readonly log?: boolean;
}

/**
 * Generate Nexmark events to the Kafka topics `<prefix>person`, `<prefix>auction` and `<prefix>bid` (they must exist,
 * or the cluster must create topics on first use). Each record's key is its entity's id in decimal: the person id,
 * the auction id, and for a bid its auction's id, so kafkajs's default (Java-compatible murmur2) partitioner puts an
 * event in the same partition on every run, and bids in the partition number of their auction. Values are the same
 * JSON as in the embedded logs for the same seed; record timestamps are the send time (as the logs' append time).
 */
export async function writeNexmarkKafka(config: NexmarkConfig, o: WriteNexmarkKafkaOptions): Promise<WriteNexmarkResult> {
  const kafka = createKafka({ clientId: 'duckstream-gen-nexmark', ...o.client, brokers: o.target.brokers }, { log: o.log });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  const topics = Object.fromEntries(EVENT_KINDS.map((k) => [k, `${o.target.prefix}${k}`])) as Record<EventKind, string>;
  const chunk = o.chunk ?? (o.realtime ? Math.max(1, Math.round(config.rate / 100)) : 5_000);
  const gen = new NexmarkGenerator(config, 1);
  const records: Record<EventKind, number> = { person: 0, auction: 0, bid: 0 };
  let bytes = 0;
  const t0 = performance.now();
  const wallStart = Date.now();
  try {
    await producer.connect();
  } catch (err) {
    throw externalError(`cannot connect to Kafka at ${o.target.brokers.join(',')}: ${kafkaErrorText(err)}`, true, err);
  }
  try {
    while (gen.eventsSoFar < o.events && !o.signal?.aborted) {
      const n = Math.min(chunk, o.events - gen.eventsSoFar);
      if (o.realtime) {
        const due = wallStart + (gen.nextEventTime - config.baseTime);
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const out = gen.generate(n);
      const topicMessages: TopicMessages[] = [];
      for (const k of EVENT_KINDS) {
        const w = out[k][0]!;
        if (w.records === 0) continue;
        const messages: Message[] = w.views().map((v) => {
          const value = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
          return { key: entityKey(value), value };
        });
        topicMessages.push({ topic: topics[k], messages });
        records[k] += w.records;
        bytes += w.pos;
      }
      try {
        await producer.sendBatch({ topicMessages });
      } catch (err) {
        const where = `${Object.values(topics).join(', ')} at ${o.target.brokers.join(',')}`;
        throw externalError(`sending Nexmark events ${gen.eventsSoFar - n}…${gen.eventsSoFar - 1} to ${where} failed: ${kafkaErrorText(err)}`, true, err);
      }
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  return { events: gen.eventsSoFar, records, bytes, wallMs: performance.now() - t0, workers: 1 };
}

/** The decimal id right after the first `:` of a generated record (`{"id":…` or `{"auction":…`). */
function entityKey(value: Buffer): Buffer {
  const start = value.indexOf(58) + 1; // ':'
  let end = start;
  while (end < value.length && value[end]! >= 48 && value[end]! <= 57) end++;
  return value.subarray(start, end);
}
