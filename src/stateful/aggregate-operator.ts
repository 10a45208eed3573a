import { onTimeTable, stateTable, type Exec, type OutputMode, type StatefulOperator } from './operator.js';

/**
 * Queries over the whole stream without windows: running GROUP BY aggregates, DISTINCT. The source's rows are
 * kept and the query is evaluated over all of them; update mode emits the result rows that are new or changed
 * since the last batch (the previous result is kept too), complete mode the whole result. Append mode is only
 * allowed when result rows can never change (DISTINCT without aggregates): then the new rows are final.
 * State grows with the input: use windows and a watermark for unbounded streams.
 */
export class AggregateOperator implements StatefulOperator {
  readonly streams: readonly string[];
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description: string;
  private created = false;

  constructor(
    readonly sink: string,
    readonly mode: OutputMode,
    private readonly source: string,
    /** The query with the source replaced by `relation`. */
    private readonly emitTemplate: (relation: string) => string,
    readonly keyColumns: readonly string[],
  ) {
    this.streams = [source];
    this.stateTables = [stateTable('buf', sink, source), stateTable('prev', sink)];
    this.outputTable = stateTable('out', sink);
    this.description = `running aggregate ${mode}`;
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    const buf = stateTable('buf', this.sink, this.source);
    const prev = stateTable('prev', this.sink);
    const query = this.emitTemplate(buf);
    if (!this.created) {
      await exec(`CREATE TABLE IF NOT EXISTS ${buf} AS SELECT * FROM ${onTimeTable(this.source)} LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${prev} AS SELECT * FROM (${query}) LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${query}) LIMIT 0`);
      this.created = true;
    }
    await exec(`INSERT INTO ${buf} SELECT * FROM ${onTimeTable(this.source)}`);
    await exec(`CREATE OR REPLACE TEMP TABLE __ds_result AS ${query}`);
    await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
    const emit = this.mode === 'complete' ? 'SELECT * FROM __ds_result' : `SELECT * FROM __ds_result EXCEPT ALL SELECT * FROM ${prev}`;
    await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${emit})`);
    await exec(`DELETE FROM ${prev}`);
    await exec(`INSERT INTO ${prev} SELECT * FROM __ds_result`);
  }
}
