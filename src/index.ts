/**
 * duckstream's public API.
 * - DStream jobs (`duckstream run jobs/x.ts`): `StreamingContext`, `DStream`, `sql`, `seconds`, `StateSpec`.
 * - SQL jobs (`duckstream run jobs/x.sql`): `runJob`, and the types around it.
 */
export { StreamingContext, type StreamingContextOptions, type LogStreamOptions, type KafkaStreamOptions } from './dstream/context.js';
export { DStream, MapWithStateDStream, StateSpec } from './dstream/dstream.js';
export type { Keys, Reducer, InverseReducer, Schema, StateHandle } from './dstream/graph.js';
export { sql, col, Sql, type SqlValue } from './dstream/sql.js';
export { millis, seconds, minutes, type Duration } from './dstream/duration.js';
export type { BatchInfo } from './dstream/output-sinks.js';
export { runDStreamJob, loadDStreamJob, type DStreamJob } from './dstream/run-dstream-job.js';
export { compileDStreamJob } from './dstream/compile.js';
export { runJob, type RunJobOptions } from './driver/run-job.js';
export { parseTrigger, type Trigger } from './driver/trigger.js';
export type { BatchProgress } from './driver/progress.js';
export type { Row } from './sql/engine.js';
export { DuckstreamError, type ErrorDomain } from './errors.js';
