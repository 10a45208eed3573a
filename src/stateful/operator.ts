/** How a sink's rows evolve (Spark's output modes). */
export type OutputMode = 'append' | 'update' | 'complete';

/** Runs one SQL statement inside the batch's state transaction. */
export type Exec = (sql: string) => Promise<void>;

/**
 * A stateful sink query, run incrementally: each batch it folds the batch's rows into its state tables (in the
 * attached `state` database) and writes the rows to emit into `state.<outputTable>` tagged with the batch id.
 * Everything happens in one transaction with the state's batch id, so a batch's state and its output commit
 * together (docs/architecture.md#the-batch-protocol step 4, invariant I4) and a replay of a committed batch re-emits the stored rows instead of recomputing.
 *
 * Before `process`, the driver has created a temp view per source with the batch's on-time rows
 * (`__ds_ontime_<source>`), and a temp table `__ds_bounds(lo, hi)`: the watermark the batch ran with and the one it
 * leaves.
 */
export interface StatefulOperator {
  readonly sink: string;
  readonly mode: OutputMode;
  /** Sources it reads. */
  readonly streams: readonly string[];
  /** Output columns that identify a result row (update mode upserts on them). */
  readonly keyColumns: readonly string[];
  /** Tables of the state database it owns (for status, size, snapshots). */
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  /** One-line description for status and errors. */
  readonly description: string;
  /**
   * It stores whole source rows (`SELECT *` into state, inserted by position), so its streams reach it with every
   * value column; false: it stores a projection of the columns its query reads (the column analysis covers it).
   */
  readonly storesWholeRows: boolean;
  /**
   * It stores only the source columns its query names, metadata columns included, so the metadata columns no query
   * names need not be loaded at all; false keeps the shape its state tables always had (some insert by position,
   * sessions find rows by their log position).
   */
  readonly storesNamedColumnsOnly: boolean;
  process(exec: Exec, batchId: number): Promise<void>;
}

export function stateTable(kind: string, sink: string, source?: string): string {
  return `state.${JSON.stringify(source ? `${kind}__${sink}__${source}` : `${kind}__${sink}`)}`;
}

export const BOUNDS = '__ds_bounds';
export const onTimeTable = (source: string) => JSON.stringify(`__ds_ontime_${source}`);
