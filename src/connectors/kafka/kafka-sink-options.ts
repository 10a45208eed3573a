import { z } from 'zod';
import { positiveInt, wholeNumber } from '../../util/whole-number.js';
import { clientOptionShape, kafkaConfig } from './options.js';
import { KafkaSink, kafkaCompressions } from './kafka-sink.js';
import { sinkFactory } from '../connector.js';

const options = z.strictObject({
  brokers: z.string().min(1, 'must not be empty'),
  topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'is not a Kafka topic name'),
  format: z.enum(['json', 'text']).default('json'),
  key_column: z.string().min(1).optional(),
  partition_column: z.string().min(1).optional(),
  value_column: z.string().min(1).optional(),
  transactional_id: z.string().min(1).optional(),
  idempotent: z.enum(['true', 'false']).default('true'),
  compression: z.enum(kafkaCompressions).default('none'),
  retries: wholeNumber.default(8),
  retry_backoff_ms: positiveInt.default(200),
  ...clientOptionShape(),
});

/** `CREATE SINK … WITH (connector = 'kafka', …)`, registered in src/connectors/registry.ts. */
export const kafkaSinkFactory = sinkFactory({
  options,
  hints: { brokers: "'host:9092[,host2:9092]'", topic: "'<topic>'" },
  create: (name, o, ctx) =>
    new KafkaSink(name, {
      client: kafkaConfig(`sink '${name}'`, o),
      topic: o.topic,
      shape: { format: o.format, keyColumn: o.key_column, partitionColumn: o.partition_column, valueColumn: o.value_column },
      transactionalId: o.transactional_id,
      idempotent: o.idempotent === 'true',
      compression: o.compression,
      retry: { retries: o.retries, initialMs: o.retry_backoff_ms, maxMs: 5000 },
      log: ctx.kafkaLog,
    }),
});
