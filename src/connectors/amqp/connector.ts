import { userError } from '../../errors.js';
import { declaredSchema, timestampColumns } from '../../format/declared-schema.js';
import type { SourceDef } from '../../job/parse-job.js';
import type { Source } from '../../source/source.js';
import { sourceFactory, type Connector, type ConnectorContext } from '../connector.js';
import { HEADERS_FIELD } from '../headers-column.js';
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

async function openAmqpSource(def: SourceDef, o: AmqpSourceOptions, _ctx: ConnectorContext): Promise<Source> {
  const schema = declaredSchema(def.name, o.format, def.columns ?? o.schema);
  if (schema?.some((c) => c.name === HEADERS_FIELD.name))
    throw userError(`source '${def.name}': '_headers' is a metadata column of AMQP sources`, 'rename the value column');
  const queues = parseQueues(def.name, o.queue);
  const owner = `source '${def.name}'`;
  if (o.queue_type !== 'stream')
    throw userError(
      `${owner}: queue_type '${o.queue_type}' (a queue that cannot replay) is read through landing, which this build does not have yet`,
      "use a stream queue (queue_type = 'stream'), or land the queue with `duckstream ingest` and read the log",
    );
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
