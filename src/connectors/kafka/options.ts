import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { z } from 'zod';
import { userError } from '../../errors.js';
import { positiveInt, wholeNumber } from '../../util/whole-number.js';
import { commonSourceOptionShape } from '../source-options.js';

const bool = z.enum(['true', 'false']).transform((s) => s === 'true');

/** `CREATE SOURCE … WITH (connector = 'kafka', …)`: every option, validated at start (README "Kafka"). */
export const kafkaSourceOptions = z
  .object({
    brokers: z.string({ error: "needs brokers = 'host:port[,host:port…]'" }).min(1),
    topic: z.string().min(1).optional(),
    topic_pattern: z.string().min(1).optional(),
    group_id: z.string().min(1).optional(),
    starting_offsets: z.string().default('earliest'),
    fail_on_data_loss: bool.default(true),
    max_records_per_partition: positiveInt.optional(),
    max_records_per_batch: positiveInt.optional(),
    ...commonSourceOptionShape(),
    ...clientOptionShape(),
    retries: wholeNumber.default(8),
    retry_backoff_ms: positiveInt.default(200),
    max_wait_ms: positiveInt.default(100),
    max_bytes_per_partition: positiveInt.default(4 * 1024 * 1024),
    session_timeout_ms: positiveInt.default(30_000),
    read_timeout_ms: positiveInt.default(60_000),
    read_ahead: bool.default(true),
  })
  .strict();

export type KafkaSourceOptions = z.infer<typeof kafkaSourceOptions>;

/** Client options shared by the Kafka source and sink: passed through to kafkajs (TLS, SASL, timeouts). */
export function clientOptionShape() {
  return {
    client_id: z.string().min(1).default('duckstream'),
    ssl: bool.default(false),
    ssl_ca_file: z.string().optional(),
    ssl_reject_unauthorized: bool.default(true),
    sasl_mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    sasl_username: z.string().optional(),
    /** The name of an environment variable holding the password (never the password: options land in the checkpoint). */
    sasl_password_env: z.string().optional(),
    connection_timeout_ms: positiveInt.default(3000),
    request_timeout_ms: positiveInt.default(30_000),
  };
}

export interface ClientOptions {
  brokers: string;
  client_id: string;
  ssl: boolean;
  ssl_ca_file?: string | undefined;
  ssl_reject_unauthorized: boolean;
  sasl_mechanism?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined;
  sasl_username?: string | undefined;
  sasl_password_env?: string | undefined;
  connection_timeout_ms: number;
  request_timeout_ms: number;
}

/**
 * The kafkajs client configuration for these options. kafkajs retries nothing at this level (`retries: 0`): every
 * admin and cluster request (offsets, metadata, group commits, the sink's admin calls) is retried by duckstream's
 * withRetry alone, with the connector's `retries` and `retry_backoff_ms`, so one failure costs one retry schedule,
 * not kafkajs's inside each of ours. The two clients that keep a kafkajs retry of their own say why where they are
 * made (the range reader's consumer, the sink's producer).
 */
export function kafkaConfig(name: string, o: ClientOptions): KafkaConfig {
  const brokers = o.brokers
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0) throw userError(`'${name}': brokers is empty`, "brokers = 'host:9092[,host2:9092]'");
  const config: KafkaConfig = {
    clientId: o.client_id,
    brokers,
    connectionTimeout: o.connection_timeout_ms,
    requestTimeout: o.request_timeout_ms,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 0 },
  };
  if (o.ssl || o.ssl_ca_file) {
    config.ssl = o.ssl_ca_file
      ? { ca: [readFileSync(o.ssl_ca_file, 'utf8')], rejectUnauthorized: o.ssl_reject_unauthorized }
      : { rejectUnauthorized: o.ssl_reject_unauthorized };
  }
  if (o.sasl_mechanism) {
    if (!o.sasl_username || !o.sasl_password_env) {
      throw userError(
        `'${name}': sasl_mechanism needs sasl_username and sasl_password_env`,
        "sasl_username = 'me', sasl_password_env = 'KAFKA_PASSWORD' (the variable's name, not the password)",
      );
    }
    const password = process.env[o.sasl_password_env];
    if (password === undefined)
      throw userError(`'${name}': environment variable ${o.sasl_password_env} (sasl_password_env) is not set`, `export ${o.sasl_password_env}=…`);
    config.sasl = { mechanism: o.sasl_mechanism, username: o.sasl_username, password } as SASLOptions;
  }
  return config;
}

/** Where a new checkpoint starts reading: Spark's `startingOffsets`, plus a timestamp. */
export type StartingOffsets =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  /** topic → partition → offset; -2 = earliest, -1 = latest (Spark's convention). Unnamed partitions: earliest. */
  | { kind: 'offsets'; offsets: ReadonlyMap<string, ReadonlyMap<number, bigint>> }
  /** The first record with a timestamp at or after this (ms since the epoch), per partition. */
  | { kind: 'timestamp'; ms: number };

export function parseStartingOffsets(name: string, text: string): StartingOffsets {
  const t = text.trim();
  if (t === 'earliest' || t === 'latest') return { kind: t };
  const fix = `starting_offsets = 'earliest' | 'latest' | '{"topic":{"0":42,"1":-2}}' | 'timestamp:2026-01-01T00:00:00Z' (or timestamp:<epoch ms>)`;
  if (t.startsWith('timestamp:')) {
    const v = t.slice('timestamp:'.length).trim();
    const ms = /^[0-9]+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(ms)) throw userError(`source '${name}': starting_offsets '${text}' has no readable timestamp`, fix);
    return { kind: 'timestamp', ms };
  }
  if (t.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(t);
    } catch (err) {
      throw userError(`source '${name}': starting_offsets is not valid JSON: ${(err as Error).message}`, fix);
    }
    const offsets = new Map<string, Map<number, bigint>>();
    for (const [topic, parts] of Object.entries(json as Record<string, unknown>)) {
      if (typeof parts !== 'object' || parts === null)
        throw userError(`source '${name}': starting_offsets.${topic} must be an object of partition → offset`, fix);
      const m = new Map<number, bigint>();
      for (const [p, off] of Object.entries(parts as Record<string, unknown>)) {
        if (!/^[0-9]+$/.test(p) || (typeof off !== 'number' && typeof off !== 'string') || !/^-?[0-9]+$/.test(String(off)) || BigInt(off) < -2n) {
          throw userError(`source '${name}': starting_offsets.${topic}.${p} = ${JSON.stringify(off)} is not an offset`, fix);
        }
        m.set(Number(p), BigInt(off));
      }
      offsets.set(topic, m);
    }
    return { kind: 'offsets', offsets };
  }
  throw userError(`source '${name}': starting_offsets '${text}' is not understood`, fix);
}
