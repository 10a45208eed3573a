import { sinkFactory, type Connector } from '../connector.js';
import { connectNats } from './client.js';
import { natsSourceFactory } from './factory.js';
import { NatsSink } from './nats-sink.js';
import { natsSinkOptions } from './options.js';

/**
 * `connector = 'nats'`: a JetStream stream read as exact sequence ranges (a partition is the stream or one subject
 * filter within it; the checkpoint, not a consumer, is the truth; durable consumers are advisory, for lag), and a
 * sink publishing each row with a message id and awaiting its ack, exactly once (docs/connectors/nats.md).
 */
export const natsConnector: Connector = {
  name: 'nats',
  source: natsSourceFactory,
  sink: sinkFactory({
    options: natsSinkOptions,
    hints: { subject: "'<subject>'" },
    create: (name, o) =>
      new NatsSink(name, {
        subject: o.subject,
        jobId: o.job_id ?? name,
        maxInFlight: o.max_in_flight,
        retry: { retries: o.retries, initialMs: o.retry_backoff_ms, maxMs: 5000 },
        requestTimeoutMs: o.request_timeout_ms,
        connect: () => connectNats(`sink '${name}'`, o),
      }),
  }),
};
