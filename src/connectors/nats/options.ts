import { commonSourceOptionShape } from '../source-options.js';
import { z } from 'zod';
import { positiveInt, wholeNumber } from '../../util/whole-number.js';

const bool = z.enum(['true', 'false']).transform((s) => s === 'true');

/** Connection options shared by the NATS source and sink. */
function clientShape() {
  return {
    servers: z.string().min(1, 'must not be empty').default('nats://127.0.0.1:4222'),
    user: z.string().min(1).optional(),
    /** The name of an environment variable holding the password (never the password: options land in the checkpoint). */
    password_env: z.string().min(1).optional(),
    /** The name of an environment variable holding an auth token. */
    token_env: z.string().min(1).optional(),
    connect_timeout_ms: positiveInt.default(5000),
    request_timeout_ms: positiveInt.default(10_000),
    retries: wholeNumber.default(8),
    retry_backoff_ms: positiveInt.default(200),
  };
}

/** `CREATE SOURCE … WITH (connector = 'nats', …)`: every option, checked at start (docs/connectors/nats.md). */
export const natsSourceOptions = z
  .object({
    ...clientShape(),
    stream: z.string().regex(/^[^.*>\s:/\\]+$/, 'is not a JetStream stream name (no spaces, ".", "*", ">", ":", "/")'),
    /** Comma-separated subject filters: one partition each, in this order. Unset: the whole stream is partition 0. */
    subjects: z.string().min(1).optional(),
    starting_offsets: z.enum(['earliest', 'latest']).default('earliest'),
    fail_on_data_loss: bool.default(true),
    max_records_per_partition: positiveInt.optional(),
    max_records_per_batch: positiveInt.optional(),
    /** Advisory progress: a durable consumer per partition positioned after the last committed batch (lag tools). */
    durable_name: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'is not a consumer name (letters, digits, "_" and "-")')
      .optional(),
    read_timeout_ms: positiveInt.default(30_000),
    ...commonSourceOptionShape(),
  })
  .strict();

export type NatsSourceOptions = z.infer<typeof natsSourceOptions>;

/** `CREATE SINK … WITH (connector = 'nats', …)`. */
export const natsSinkOptions = z
  .object({
    ...clientShape(),
    subject: z.string().regex(/^[^\s*>]+$/, 'is not a subject to publish to (no spaces or wildcards)'),
    /** The first part of every message id `<job_id>/<batch>/<row>` (default: the sink's name). */
    job_id: z.string().min(1).optional(),
    /** Publishes awaiting their ack at once. */
    max_in_flight: positiveInt.default(2000),
  })
  .strict();

export type NatsSinkOptions = z.infer<typeof natsSinkOptions>;

export interface NatsClientOptions {
  readonly servers: string;
  readonly user?: string | undefined;
  readonly password_env?: string | undefined;
  readonly token_env?: string | undefined;
  readonly connect_timeout_ms: number;
  readonly request_timeout_ms: number;
}
