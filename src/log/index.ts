/** The embedded partitioned log: the default source, no broker (DESIGN §4). */
export { createLog, openLog, EmbeddedLog, type CreateLogOptions } from './embedded-log.js';
export type { AppendRecord } from './record-codec.js';
export type { PartitionInfo } from './partition-reader.js';
export { toRecordBatch, type RawRecordColumns } from './record-columns.js';
export { murmur2, partitionForKey } from './murmur2.js';
export { DEFAULT_SEGMENT_BYTES, DEFAULT_INDEX_INTERVAL_BYTES } from './log-meta.js';
