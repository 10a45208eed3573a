import { userError } from '../../errors.js';
import { sourceFactory, type ConnectorContext } from '../connector.js';
import { parseConnectorOptions } from '../options-error.js';
import type { SourceDef } from '../../job/parse-job.js';
import { declaredSchema, timestampColumns } from '../../format/declared-schema.js';
import type { ValueSchema } from '../../source/schema.js';
import type { Source } from '../../source/source.js';
import { createKafka } from './client.js';
import { HEADERS_FIELD } from '../headers-column.js';
import { KafkaOffsets, type TopicSelector } from './offsets.js';
import { KafkaSource } from './kafka-source.js';
import { kafkaConfig, kafkaSourceOptions, parseStartingOffsets, type KafkaSourceOptions } from './options.js';

/** `CREATE SOURCE name WITH (connector = 'kafka', …)` as the registry knows it: options, then a KafkaSource. */
const spec = { options: kafkaSourceOptions, hints: { brokers: "'host:port[,host:port…]'" } };
export const kafkaSourceFactory = sourceFactory({ ...spec, create: openKafkaSource });

/** A Kafka source straight from its definition: options checked up front (as the registry does), then opened. */
export async function createKafkaSource(def: SourceDef, ctx: ConnectorContext = {}): Promise<Source> {
  const { connector: _connector, ...given } = def.options;
  return openKafkaSource(def, parseConnectorOptions('source', def.name, 'kafka', spec, given), ctx);
}

async function openKafkaSource(def: SourceDef, o: KafkaSourceOptions, ctx: ConnectorContext): Promise<Source> {
  const schema = kafkaSchema(def, o);
  const selector = topicSelector(def.name, o);
  const kafka = createKafka(kafkaConfig(`source '${def.name}'`, o), { log: ctx.kafkaLog });
  const retry = { retries: o.retries, initialMs: o.retry_backoff_ms, maxMs: 5000 };
  return new KafkaSource(def.name, kafka, new KafkaOffsets(kafka, def.name, selector, retry), {
    format: o.format,
    schema,
    maxValueBytes: o.max_value_bytes,
    timestampColumns: timestampColumns(o.event_time),
    starting: parseStartingOffsets(def.name, o.starting_offsets),
    failOnDataLoss: o.fail_on_data_loss,
    groupId: o.group_id,
    caps: {
      ...(o.max_records_per_partition !== undefined && { maxRecordsPerPartition: o.max_records_per_partition }),
      ...(o.max_records_per_batch !== undefined && { maxRecordsPerBatch: o.max_records_per_batch }),
    },
    retry,
    readAhead: o.read_ahead,
    reader: {
      maxWaitMs: o.max_wait_ms,
      maxBytesPerPartition: o.max_bytes_per_partition,
      sessionTimeoutMs: o.session_timeout_ms,
      stallTimeoutMs: o.read_timeout_ms,
    },
  });
}

/** The declared value columns; `_headers` is Kafka's own metadata column, so no value column may take its name. */
function kafkaSchema(def: SourceDef, o: KafkaSourceOptions): ValueSchema | undefined {
  const schema = declaredSchema(def.name, o.format, def.columns ?? o.schema);
  if (schema?.some((c) => c.name === HEADERS_FIELD.name))
    throw userError(`source '${def.name}': '_headers' is a metadata column of Kafka sources`, 'rename the value column');
  return schema;
}

function topicSelector(name: string, o: KafkaSourceOptions): TopicSelector {
  if ((o.topic === undefined) === (o.topic_pattern === undefined)) {
    throw userError(`source '${name}': give exactly one of topic and topic_pattern`, "topic = 'events' (or 'a,b,c'), or topic_pattern = 'events-.*'");
  }
  if (o.topic !== undefined) {
    const topics = o.topic
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
    const bad = topics.find((t) => !/^[A-Za-z0-9._-]{1,249}$/.test(t));
    if (bad !== undefined || topics.length === 0)
      throw userError(`source '${name}': '${bad ?? o.topic}' is not a Kafka topic name`, 'topic names use letters, digits, ".", "_" and "-"');
    return { topics };
  }
  try {
    return { pattern: new RegExp(`^(?:${o.topic_pattern!})$`) };
  } catch (err) {
    throw userError(
      `source '${name}': topic_pattern: ${(err as Error).message}`,
      "a JavaScript regular expression matching whole topic names, e.g. 'events-.*'",
    );
  }
}
