/**
 * The embedded partitioned log: the default source, no broker (docs/architecture.md#connector-contract).
 *
 * On disk, a log is a directory:
 * - `log.json`: format name and version, partition count, segment and index sizes (written temp + rename);
 * - `<partition>/<base offset, 20 digits>.log`: append-only segments of records framed as in record-codec.ts
 *   (length, CRC-32C of the rest, offset, timestamp, key, value, headers), offsets sequential from 0;
 * - `<partition>/<base>.index`: sparse (relative offset, position) entries every ~4 KiB, checked on use;
 * - `<partition>/append.lock`: the pid of the one process appending to that partition.
 */
export { createLog, openLog, EmbeddedLog, type CreateLogOptions } from './embedded-log.js';
export type { AppendRecord, FramedRecords } from './record-codec.js';
export { frameKeylessRecord, KEYLESS_VALUE_START, HEADERLESS_TRAILER } from './record-codec.js';
export type { PartitionInfo } from './partition-reader.js';
export { toColumnarBatch, toRecordBatch, type RawRecordColumns } from './record-columns.js';
export { murmur2, partitionForKey } from './murmur2.js';
export { DEFAULT_SEGMENT_BYTES, DEFAULT_INDEX_INTERVAL_BYTES } from './log-meta.js';
