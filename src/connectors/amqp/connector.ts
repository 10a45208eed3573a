import { resolve } from 'node:path';
import { userError } from '../../errors.js';
import { declaredSchema, timestampColumns } from '../../format/declared-schema.js';
import type { SourceDef } from '../../job/parse-job.js';
import type { Source } from '../../source/source.js';
import { sourceFactory, type Connector, type ConnectorContext } from '../connector.js';
import { HEADERS_FIELD } from '../headers-column.js';
import { LandingSource } from '../../landing/index.js';
import { AmqpFeed } from './amqp-feed.js';
import { AmqpClient } from './client.js';
import { amqpSourceOptions, connectionUrl, parseQueues, parseStreamStart, type AmqpSourceOptions } from './options.js';
import { AmqpStreamRawSource } from './stream-raw-source.js';
import { StreamReader } from './stream-reader.js';
import { AmqpStreamSource } from './stream-source.js';

/**
 * `connector = 'amqp'`: RabbitMQ. Stream queues (`queue_type = 'stream'`, the default) are logs with offsets and are
 * read as exact offset ranges like Kafka topics; classic and quorum queues cannot replay, so their messages are
 * landed in an embedded log first (acknowledged only once the append is durable) and read from there.
 */
export const amqpConnector: Connector = {
  name: 'amqp',
  source: sourceFactory({ options: amqpSourceOptions, hints: { queue: "'<stream queue>[,<stream queue>…]'" }, create: openAmqpSource }),
};

async function openAmqpSource(def: SourceDef, o: AmqpSourceOptions, ctx: ConnectorContext): Promise<Source> {
  const schema = declaredSchema(def.name, o.format, def.columns ?? o.schema);
  if (schema?.some((c) => c.name === HEADERS_FIELD.name))
    throw userError(`source '${def.name}': '_headers' is a metadata column of AMQP sources`, 'rename the value column');
  const queues = parseQueues(def.name, o.queue);
  const owner = `source '${def.name}'`;
  if (o.queue_type !== 'stream') return openLandedQueue(def, o, ctx, queues);
  const client = new AmqpClient({ owner, url: connectionUrl(def.name, o), connectionTimeoutMs: o.connection_timeout_ms, heartbeatS: o.heartbeat_s });
  const reader = new StreamReader(client, { owner, prefetch: o.prefetch, probeMs: o.probe_ms, readTimeoutMs: o.read_timeout_ms });
  const raw = new AmqpStreamRawSource(def.name, client, reader, {
    queues,
    start: parseStreamStart(def.name, o.starting_offsets, queues),
    failOnDataLoss: o.fail_on_data_loss,
    caps: {
      ...(o.max_records_per_partition !== undefined && { maxRecordsPerPartition: o.max_records_per_partition }),
      ...(o.max_records_per_batch !== undefined && { maxRecordsPerBatch: o.max_records_per_batch }),
    },
    retry: { retries: o.retries, initialMs: o.retry_backoff_ms, maxMs: 5000 },
  });
  return new AmqpStreamSource(def.name, raw, { format: o.format, schema, maxValueBytes: o.max_value_bytes, timestampColumns: timestampColumns(o.event_time) });
}

/**
 * A classic or quorum queue cannot replay: its messages are landed in an embedded log (landing_path, default
 * `<checkpoint>/landing/<source>`) and acknowledged once durable; the job reads that log.
 */
async function openLandedQueue(def: SourceDef, o: AmqpSourceOptions, ctx: ConnectorContext, queues: readonly string[]): Promise<Source> {
  const what = `source '${def.name}'`;
  if (queues.length !== 1)
    throw userError(`${what}: queue_type '${o.queue_type}' lands one queue, not ${queues.length}`, 'one source per queue (or bind the queues to one queue)');
  let landingDir: string;
  if (o.landing_path !== undefined) landingDir = resolve(o.landing_path);
  else if (ctx.checkpointDir !== undefined) landingDir = resolve(ctx.checkpointDir, 'landing', def.name);
  else throw userError(`${what}: queue_type '${o.queue_type}' needs a landing_path here (no checkpoint to land under)`, "add landing_path = '<dir>'");
  const schema = declaredSchema(def.name, o.format, def.columns ?? o.schema);
  return LandingSource.open(def.name, {
    landingDir,
    feed: new AmqpFeed(amqpFeedOptions(what, o, queues[0]!)),
    lander: { what, ...(o.dedupe_key !== undefined ? { dedupeKey: o.dedupe_key } : {}) },
    format: o.format,
    schema,
    maxValueBytes: o.max_value_bytes,
    timestampColumns: timestampColumns(o.event_time),
  });
}

export function amqpFeedOptions(what: string, o: AmqpSourceOptions, queue: string): ConstructorParameters<typeof AmqpFeed>[0] {
  return {
    what,
    url: connectionUrl(what, o),
    queue,
    prefetch: o.prefetch,
    connectionTimeoutMs: o.connection_timeout_ms,
    heartbeatS: o.heartbeat_s,
    reconnectMs: o.retry_backoff_ms,
  };
}
