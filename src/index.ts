/**
 * duckstream's public API: what a library user needs, nothing internal.
 * - SQL jobs (`duckstream run jobs/x.sql`): `runJob`, and the types around it.
 * - DStream jobs (`duckstream run jobs/x.ts`): `StreamingContext`, `DStream`, `sql`, `seconds`, `StateSpec`.
 * - The embedded log: `createLog`, `openLog`, `EmbeddedLog` (append, read, describe), `partitionForKey`.
 * - Connector contracts: `Source` and `Sink`, with the batch shapes they exchange.
 * - Errors: `DuckstreamError` (with its `domain` and `retriable`) and `CorruptFileError`.
 */
export { runJob, type RunJobOptions } from './driver/run-job.js';
export { parseTrigger, type Trigger } from './driver/trigger.js';
export type { BatchProgress } from './driver/progress.js';
export type { Row } from './sql/engine.js';

export { StreamingContext, type StreamingContextOptions, type LogStreamOptions, type KafkaStreamOptions } from './dstream/context.js';
export { DStream, MapWithStateDStream, StateSpec } from './dstream/dstream.js';
export type { Keys, Reducer, InverseReducer, Schema, StateHandle } from './dstream/graph.js';
export { sql, col, Sql, type SqlValue } from './dstream/sql.js';
export { millis, seconds, minutes, type Duration } from './util/duration.js';
export type { BatchInfo } from './dstream/output-sinks.js';
export { runDStreamJob, loadDStreamJob, type DStreamJob } from './dstream/run-dstream-job.js';

export { createLog, openLog, EmbeddedLog, type CreateLogOptions, type AppendRecord, type PartitionInfo } from './log/index.js';
export { partitionForKey } from './log/index.js';

export type { Source, SourceBatch, RawRecordBatch, DeadLetter } from './source/source.js';
export type { RawSource, RawRead } from './source/raw-source.js';
export type { Sink, SinkBatch, SinkQueryBatch } from './sink/sink.js';
export type { OffsetRange, PartitionKey } from './plan/offset-range.js';

export { DuckstreamError, CorruptFileError, type ErrorDomain } from './errors.js';
