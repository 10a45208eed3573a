import type { Engine } from '../sql/engine.js';

/** One batch's result, held by DuckDB in a temporary table of the driver's engine. */
export interface SinkBatch {
  readonly batchId: number;
  /** Batch time, ms since the epoch. */
  readonly batchTime: number;
  readonly engine: Engine;
  /** A (quoted) table name in `engine` holding exactly this batch's rows for this sink. */
  readonly relation: string;
  readonly numRows: number;
  /** Spark's output mode: append (new final rows), update (changed rows, upsert on keyColumns), complete (the whole result). Default append. */
  readonly mode?: 'append' | 'update' | 'complete';
  /** Columns that identify a result row, for update mode. */
  readonly keyColumns?: readonly string[];
  /**
   * Make the batch durable with fsync before addBatch returns (default true). false: the output only survives
   * process crashes (the driver's `fsync: false`); sinks whose storage syncs by itself (DuckDB, Kafka) ignore it.
   */
  readonly fsync?: boolean;
}

/** A batch given as a query instead of a table: for sinks that can write a query's rows straight out. */
export interface SinkQueryBatch extends Omit<SinkBatch, 'relation' | 'numRows' | 'mode' | 'keyColumns'> {
  /** A SELECT over the batch's (temporary) source tables, giving exactly this batch's rows. */
  readonly query: string;
}

/**
 * An output. `addBatch` must be idempotent per batch id: writing batch N again (a replay after a crash)
 * leaves the output as if it had been written once (docs/architecture.md#the-batch-protocol step 5, #sink-contract).
 */
export interface Sink {
  readonly name: string;
  /** Prepare the output (directories, tables); called once before the first batch. */
  open(engine: Engine): Promise<void>;
  addBatch(batch: SinkBatch): Promise<void>;
  /**
   * Optional, append mode only: write the rows of `batch.query` as batch `batchId` (same idempotence as
   * addBatch) and return how many there were. Lets a file sink COPY the query's result straight out, where
   * addBatch needs it materialised in a temp table first (one statement and one copy of the rows less per batch).
   */
  addQuery?(batch: SinkQueryBatch): Promise<number>;
  /** The highest batch id this sink has durably written, if it records one (DuckDB/PostgreSQL sinks). */
  lastBatchId?(): Promise<number | undefined>;
  close(): Promise<void>;
}
