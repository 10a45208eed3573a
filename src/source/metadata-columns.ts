/** The metadata columns every source row carries, in this order, before its value columns (docs/architecture.md#connector-contract). */
export const METADATA_COLUMNS = ['_topic', '_partition', '_offset', '_timestamp', '_key'] as const;

export type MetadataColumn = (typeof METADATA_COLUMNS)[number];

/** Kafka, NATS and AMQP sources' record headers as JSON: a metadata column carried after the value columns (src/connectors/headers-column.ts). */
export const HEADERS_COLUMN = '_headers';

/** NATS sources' message subject: a metadata column carried after the value columns (src/connectors/nats/). */
export const SUBJECT_COLUMN = '_subject';

/** Every metadata column name a source batch may carry. */
export const METADATA_NAMES: ReadonlySet<string> = new Set<string>([...METADATA_COLUMNS, SUBJECT_COLUMN, HEADERS_COLUMN]);
