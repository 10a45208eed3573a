import { onTimeTable, stateTable, type Exec, type OutputMode, type StatefulOperator } from './operator.js';
import { projection } from './stream-refs.js';

/**
 * Queries over whole streams without windows: running GROUP BY aggregates, DISTINCT, and aggregates over
 * stream–stream joins. Each source's rows are kept (only the columns the query reads) and the whole query is
 * evaluated over all of them each batch; update mode emits the result rows that are new or changed since the
 * last batch (the previous result is kept too), complete mode the whole result. Append mode is only allowed when
 * result rows can never change (DISTINCT without aggregates): then the new rows are final. A row that leaves the
 * result (a HAVING no longer met) is not retracted. State grows with the input: use windows and a watermark
 * for unbounded streams.
 */
export class AggregateOperator implements StatefulOperator {
  readonly storesWholeRows = false;
  readonly storesNamedColumnsOnly = false;
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description: string;
  private created = false;

  constructor(
    readonly sink: string,
    readonly mode: OutputMode,
    readonly streams: readonly string[],
    /** The query with each source replaced by `relation(source)`. */
    private readonly emitTemplate: (relation: (source: string) => string) => string,
    readonly keyColumns: readonly string[],
    /** Columns kept per stored row (undefined: all). */
    private readonly columns: readonly string[] | undefined,
  ) {
    this.stateTables = [...streams.map((s) => stateTable('buf', sink, s)), stateTable('prev', sink)];
    this.outputTable = stateTable('out', sink);
    this.description = streams.length > 1 ? `running aggregate ${mode} over a stream–stream join` : `running aggregate ${mode}`;
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    const buf = (source: string) => {
      const i = this.streams.findIndex((s) => s.toLowerCase() === source.toLowerCase());
      return stateTable('buf', this.sink, this.streams[i < 0 ? 0 : i]);
    };
    const prev = stateTable('prev', this.sink);
    const query = this.emitTemplate(buf);
    const rows = (source: string) => `SELECT ${projection(this.columns)} FROM ${onTimeTable(source)}`;
    if (!this.created) {
      for (const s of this.streams) await exec(`CREATE TABLE IF NOT EXISTS ${buf(s)} AS ${rows(s)} LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${prev} AS SELECT * FROM (${query}) LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${query}) LIMIT 0`);
      this.created = true;
    }
    // BY NAME: a buffer created before columns were pruned keeps its extra columns (left NULL from now on).
    for (const s of this.streams) await exec(`INSERT INTO ${buf(s)} BY NAME ${rows(s)}`);
    await exec(`CREATE OR REPLACE TEMP TABLE __ds_result AS ${query}`);
    await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
    const emit = this.mode === 'complete' ? 'SELECT * FROM __ds_result' : `SELECT * FROM __ds_result EXCEPT ALL SELECT * FROM ${prev}`;
    await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${emit})`);
    await exec(`DELETE FROM ${prev}`);
    await exec(`INSERT INTO ${prev} SELECT * FROM __ds_result`);
  }
}
