import { BOUNDS, onTimeTable, stateTable, type Exec, type StatefulOperator } from './operator.js';

/**
 * Deduplication with a watermark: `SELECT DISTINCT ON (key…) … FROM src ORDER BY key…, <event time>`.
 * Rows of keys not yet emitted wait in state; once the watermark passes a key's earliest row, no earlier row can
 * still come (it would be late), so the query's row for that key is final: it is emitted once, and the key is
 * remembered so later duplicates are dropped. A remembered key is forgotten when the watermark is `delay` past it
 * (Spark's dropDuplicatesWithinWatermark): duplicates further apart than that are not caught. State stays bounded.
 */
export class DedupOperator implements StatefulOperator {
  readonly storesWholeRows = true;
  readonly storesNamedColumnsOnly = false;
  readonly mode = 'append' as const;
  readonly streams: readonly string[];
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description = 'deduplication';
  private created = false;

  constructor(
    readonly sink: string,
    private readonly source: string,
    /** Key expressions, as SQL over the source's columns. */
    private readonly keySql: readonly string[],
    private readonly eventTimeSql: string,
    /** How long after its first row a key is remembered, beyond the watermark (ms). */
    private readonly retainMs: number,
    private readonly template: (relation: string) => string,
    readonly keyColumns: readonly string[],
  ) {
    this.streams = [source];
    this.stateTables = [stateTable('buf', sink, source), stateTable('seen', sink)];
    this.outputTable = stateTable('out', sink);
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    const buf = stateTable('buf', this.sink, this.source);
    const seen = stateTable('seen', this.sink);
    const keys = this.keySql.map((k, i) => `(${k}) AS k${i}`).join(', ');
    const keyTuple = `(${this.keySql.map((k) => `(${k})`).join(', ')})`;
    const seenTuple = `(${this.keySql.map((_, i) => `k${i}`).join(', ')})`;
    const hi = `(SELECT hi FROM ${BOUNDS})`;
    if (!this.created) {
      await exec(`CREATE TABLE IF NOT EXISTS ${buf} AS SELECT * FROM ${onTimeTable(this.source)} LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${seen} AS SELECT ${keys}, (${this.eventTimeSql}) AS first_ts FROM ${onTimeTable(this.source)} LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${this.template(buf)}) LIMIT 0`);
      this.created = true;
    }
    await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
    await exec(`INSERT INTO ${buf} SELECT * FROM ${onTimeTable(this.source)} WHERE ${keyTuple} NOT IN (SELECT ${seenTuple} FROM ${seen})`);
    // Keys whose earliest row is behind the new watermark: their result row can no longer change.
    await exec(
      `CREATE OR REPLACE TEMP TABLE __ds_final AS SELECT ${keys}, min(${this.eventTimeSql}) AS first_ts FROM ${buf} GROUP BY ALL HAVING min(${this.eventTimeSql}) < ${hi}`,
    );
    const finalRows = `(SELECT * FROM ${buf} WHERE ${keyTuple} IN (SELECT ${seenTuple} FROM __ds_final))`;
    await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${this.template(finalRows)})`);
    await exec(`INSERT INTO ${seen} SELECT * FROM __ds_final`);
    await exec(`DELETE FROM ${buf} WHERE ${keyTuple} IN (SELECT ${seenTuple} FROM __ds_final)`);
    await exec(`DELETE FROM ${seen} WHERE first_ts + to_microseconds(${this.retainMs * 1000}) < ${hi}`);
  }
}
