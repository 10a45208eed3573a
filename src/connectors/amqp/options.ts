import { z } from 'zod';
import { userError } from '../../errors.js';
import { positiveInt, wholeNumber } from '../../util/whole-number.js';
import { commonSourceOptionShape } from '../source-options.js';

const bool = z.enum(['true', 'false']).transform((s) => s === 'true');

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** `CREATE SOURCE … WITH (connector = 'amqp', …)`: every option, validated at start (docs/connectors/amqp.md). */
export const amqpSourceOptions = z
  .object({
    url: z.string().min(1).default(DEFAULT_AMQP_URL),
    /** The name of an environment variable holding the password (never the password: options land in the checkpoint). */
    password_env: z.string().min(1).optional(),
    queue: z.string({ error: "needs queue = '<stream queue>[,<stream queue>…]'" }).min(1),
    queue_type: z.enum(['stream', 'classic', 'quorum']).default('stream'),
    starting_offsets: z.string().default('earliest'),
    fail_on_data_loss: bool.default(true),
    max_records_per_partition: positiveInt.optional(),
    max_records_per_batch: positiveInt.optional(),
    ...commonSourceOptionShape(),
    /** Messages in flight per consumer (basic.qos): a stream queue refuses a consumer without one. */
    prefetch: positiveInt.default(2000),
    /** How long the end-offset probe waits for the last chunk's messages (and, on an empty queue, for any). */
    probe_ms: positiveInt.default(100),
    read_timeout_ms: positiveInt.default(30_000),
    connection_timeout_ms: positiveInt.default(5000),
    heartbeat_s: wholeNumber.default(30),
    retries: wholeNumber.default(8),
    retry_backoff_ms: positiveInt.default(200),
    /** Landing queues (classic, quorum): the embedded log messages land in (default: under the checkpoint). */
    landing_path: z.string().min(1).optional(),
    /** Landing queues: a value field (JSON) naming a message's identity for dropping redelivered duplicates (default: message_id). */
    dedupe_key: z.string().min(1).optional(),
  })
  .strict();

export type AmqpSourceOptions = z.infer<typeof amqpSourceOptions>;

/** The connection URL with the password from `password_env` filled in (when given). */
export function connectionUrl(name: string, o: Pick<AmqpSourceOptions, 'url' | 'password_env'>): string {
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw userError(`source '${name}': url '${maskUrl(o.url)}' is not a URL`, "url = 'amqp://user:password@host:5672[/vhost]'");
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:')
    throw userError(`source '${name}': url '${maskUrl(o.url)}' is not an amqp:// or amqps:// URL`, "url = 'amqp://guest:guest@127.0.0.1:5672'");
  if (o.password_env !== undefined) {
    const password = process.env[o.password_env];
    if (password === undefined)
      throw userError(`source '${name}': environment variable ${o.password_env} (password_env) is not set`, `export ${o.password_env}=…`);
    url.password = encodeURIComponent(password);
  }
  return url.toString();
}

/** A URL fit for messages and logs: the password replaced by `***`. Never print a connection URL without this. */
export function maskUrl(text: string): string {
  return text.replace(/(amqps?:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@');
}

/** The stream queues a source reads (its partitions), from `queue = 'a'` or `'a,b,c'`. */
export function parseQueues(name: string, text: string): string[] {
  const queues = text
    .split(',')
    .map((q) => q.trim())
    .filter((q) => q.length > 0);
  const bad = queues.find((q) => q.includes(':') || q.length > 255);
  if (queues.length === 0 || bad !== undefined)
    throw userError(`source '${name}': '${bad ?? text}' is not a queue name`, "queue = 'events' or 'events-0,events-1' (no ':', at most 255 characters)");
  if (new Set(queues).size !== queues.length) throw userError(`source '${name}': queue names a queue twice ('${text}')`, 'name each queue once');
  return queues;
}

/** Where a new checkpoint starts reading a stream queue. */
export type StreamStart = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offsets'; offsets: ReadonlyMap<string, bigint> };

export function parseStreamStart(name: string, text: string, queues: readonly string[]): StreamStart {
  const t = text.trim();
  if (t === 'earliest' || t === 'latest') return { kind: t };
  const fix = `starting_offsets = 'earliest' | 'latest' | '{"<queue>": <offset>, …}' (queues not named start at earliest)`;
  if (!t.startsWith('{')) throw userError(`source '${name}': starting_offsets '${text}' is not understood`, fix);
  let json: unknown;
  try {
    json = JSON.parse(t);
  } catch (err) {
    throw userError(`source '${name}': starting_offsets is not valid JSON: ${(err as Error).message}`, fix);
  }
  const offsets = new Map<string, bigint>();
  for (const [queue, off] of Object.entries(json as Record<string, unknown>)) {
    if (!queues.includes(queue)) throw userError(`source '${name}': starting_offsets names queue '${queue}', which the source does not read`, fix);
    if ((typeof off !== 'number' && typeof off !== 'string') || !/^[0-9]+$/.test(String(off)))
      throw userError(`source '${name}': starting_offsets.${queue} = ${JSON.stringify(off)} is not an offset`, fix);
    offsets.set(queue, BigInt(off));
  }
  return { kind: 'offsets', offsets };
}
