import { BOUNDS, onTimeTable, stateTable, type Exec, type OutputMode, type StatefulOperator } from './operator.js';
import { windowExpansionSql, type WindowTvf } from './window-tvf.js';

/**
 * Windowed queries (TUMBLE / HOP / SESSION, window joins, top-N per window): the on-time rows of each windowed
 * source are kept until every window they belong to has closed; the user's query is evaluated over the kept rows
 * of exactly the windows to emit, so any DuckDB aggregate, window function or join works unchanged.
 * - append: windows whose end the watermark passed in this batch (lo < window_end <= hi), emitted once, final;
 * - update: windows this batch's rows touched and that are still open;
 * - complete: every window, every batch (state is never evicted, as in Spark).
 * Rows are evicted once the watermark has passed the last window they belong to, so state stays bounded.
 */
export class WindowOperator implements StatefulOperator {
  readonly streams: readonly string[];
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description: string;
  private created = false;

  constructor(
    readonly sink: string,
    readonly mode: OutputMode,
    private readonly tvfs: readonly WindowTvf[],
    /** The query with each TVF replaced by `{{tvf:i}}` table placeholders. */
    private readonly emitTemplate: (tvfRelation: (i: number) => string) => string,
    readonly keyColumns: readonly string[],
  ) {
    this.streams = [...new Set(tvfs.map((t) => t.source))];
    this.stateTables = this.streams.map((s) => stateTable('buf', sink, s));
    this.outputTable = stateTable('out', sink);
    this.description = `${tvfs.map((t) => t.kind.toUpperCase()).join(' ⋈ ')} window ${mode}`;
  }

  private buffer(source: string): string {
    return stateTable('buf', this.sink, source);
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    if (!this.created) {
      for (const s of this.streams) await exec(`CREATE TABLE IF NOT EXISTS ${this.buffer(s)} AS SELECT * FROM ${onTimeTable(s)} LIMIT 0`);
    }
    for (const s of this.streams) await exec(`INSERT INTO ${this.buffer(s)} SELECT * FROM ${onTimeTable(s)}`);
    const lo = `(SELECT lo FROM ${BOUNDS})`;
    const hi = `(SELECT hi FROM ${BOUNDS})`;
    if (this.mode === 'update') {
      for (const [i, t] of this.tvfs.entries()) {
        await exec(`CREATE OR REPLACE TEMP TABLE "__ds_touched_${i}" AS SELECT DISTINCT window_start, window_end FROM (${windowExpansionSql(t, onTimeTable(t.source))})`);
      }
    }
    const relation = (i: number): string => {
      const t = this.tvfs[i]!;
      const where =
        this.mode === 'append'
          ? `window_end > ${lo} AND window_end <= ${hi}`
          : this.mode === 'update'
            ? `window_end > ${lo} AND (window_start, window_end) IN (SELECT window_start, window_end FROM "__ds_touched_${i}")`
            : '';
      return `(${windowExpansionSql(t, this.buffer(t.source), where)})`;
    };
    const emit = this.emitTemplate(relation);
    if (!this.created) {
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${emit}) LIMIT 0`);
      this.created = true;
    }
    await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
    await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${emit})`);
    if (this.mode !== 'complete') await this.evict(exec, hi);
  }

  /** Drop rows whose every window has closed (window_end <= the new watermark). */
  private async evict(exec: Exec, hi: string): Promise<void> {
    for (const s of this.streams) {
      const tvfs = this.tvfs.filter((t) => t.source === s);
      if (tvfs.every((t) => t.kind !== 'session')) {
        // The last window holding a row starts at the row's slide boundary and ends `size` later (tumble: slide = size).
        const keep = tvfs.map((t) => `make_timestamp(${lastWindowStartUs(t)} + ${t.sizeUs}) > ${hi}`).join(' OR ');
        await exec(`DELETE FROM ${this.buffer(s)} WHERE NOT (${keep})`);
      } else {
        const closed = tvfs.map((t) => `SELECT _topic, _partition, _offset FROM (${windowExpansionSql(t, this.buffer(s), `window_end <= ${hi}`)})`).join(' INTERSECT ');
        await exec(`DELETE FROM ${this.buffer(s)} WHERE (_topic, _partition, _offset) IN (${closed})`);
      }
    }
  }
}

function lastWindowStartUs(t: WindowTvf): string {
  const us = `epoch_us(${t.timeSql})`;
  return `(${us} - ((${us} % ${t.slideUs}) + ${t.slideUs}) % ${t.slideUs})`;
}
