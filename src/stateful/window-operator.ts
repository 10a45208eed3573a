import { BOUNDS, onTimeTable, stateTable, type Exec, type OutputMode, type StatefulOperator } from './operator.js';
import { projectionSql } from './window-columns.js';
import { lastWindowStartUs, windowExpansionSql, type WindowTvf } from './window-tvf.js';

/**
 * Windowed queries (TUMBLE / HOP / SESSION, window joins, top-N per window): the on-time rows of each windowed
 * source are kept until every window they belong to has closed; the user's query is evaluated over the kept rows
 * of exactly the windows to emit, so any DuckDB aggregate, window function or join works unchanged.
 * - append: windows whose end the watermark passed in this batch (lo < window_end <= hi), emitted once, final;
 * - update: windows this batch's rows touched and that are still open;
 * - complete: every window, every batch (state is never evicted, as in Spark).
 * Rows are evicted once the watermark has passed the last window they belong to, so state stays bounded.
 * State keeps only the columns the query reads (window-columns.ts). For TUMBLE and HOP in append/update mode a
 * batch's rows are evaluated together with the kept rows and only those still needed afterwards are stored.
 */
export class WindowOperator implements StatefulOperator {
  readonly streams: readonly string[];
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description: string;
  private created = false;
  /** Per source: the SELECT list of the columns kept in state. */
  private readonly projection = new Map<string, string>();
  /** Rows whose windows all close in their own batch are never stored (TUMBLE/HOP, append/update). */
  private readonly storeOnlyOpen: boolean;

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
    const session = tvfs.some((t) => t.kind === 'session');
    for (const s of this.streams) {
      const columns = tvfs.find((t) => t.source === s)!.columns;
      // Session eviction finds a row by its log position.
      this.projection.set(s, projectionSql(columns && session ? new Set([...columns, '_topic', '_partition', '_offset']) : columns));
    }
    this.storeOnlyOpen = mode !== 'complete' && !session;
  }

  private buffer(source: string): string {
    return stateTable('buf', this.sink, source);
  }

  private onTime(source: string): string {
    return `SELECT ${this.projection.get(source)!} FROM ${onTimeTable(source)}`;
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    if (!this.created) {
      for (const s of this.streams) await exec(`CREATE TABLE IF NOT EXISTS ${this.buffer(s)} AS ${this.onTime(s)} LIMIT 0`);
    }
    // BY NAME: a buffer created by an older version may hold more columns than are kept now.
    if (!this.storeOnlyOpen) for (const s of this.streams) await exec(`INSERT INTO ${this.buffer(s)} BY NAME ${this.onTime(s)}`);
    const input = (s: string) => (this.storeOnlyOpen ? `(SELECT * FROM ${this.buffer(s)} UNION ALL BY NAME ${this.onTime(s)})` : this.buffer(s));
    // The bounds as constants (a scalar subquery in a filter becomes a join, and the filter is not pushed down).
    await exec(`SET VARIABLE __ds_lo = (SELECT lo FROM ${BOUNDS})`);
    await exec(`SET VARIABLE __ds_hi = (SELECT hi FROM ${BOUNDS})`);
    const lo = `getvariable('__ds_lo')`;
    const hi = `getvariable('__ds_hi')`;
    if (this.mode === 'update') {
      for (const [i, t] of this.tvfs.entries()) {
        await exec(`CREATE OR REPLACE TEMP TABLE "__ds_touched_${i}" AS SELECT DISTINCT window_start, window_end FROM (${windowExpansionSql(t, onTimeTable(t.source))})`);
      }
    }
    const expansion = (i: number): string => {
      const t = this.tvfs[i]!;
      if (this.mode === 'append') {
        // Only rows whose first window (ending one slide after their last window's start) closes by `hi`.
        const closing = t.kind === 'session' ? '' : `make_timestamp(${lastWindowStartUs(t)} + ${t.slideUs}) <= ${hi}`;
        return windowExpansionSql(t, input(t.source), `window_end > ${lo} AND window_end <= ${hi}`, closing);
      }
      if (this.mode === 'update') {
        return windowExpansionSql(t, input(t.source), `window_end > ${lo} AND (window_start, window_end) IN (SELECT window_start, window_end FROM "__ds_touched_${i}")`);
      }
      return windowExpansionSql(t, input(t.source));
    };
    // References to the same window of the same source (a self-join, q5/q7) share one expansion.
    const shared = new Map<number, string>();
    const firstOf = this.tvfs.map((t) => this.tvfs.findIndex((u) => sameWindow(t, u)));
    for (const [i, first] of firstOf.entries()) {
      if (first === i && firstOf.filter((f) => f === i).length > 1) {
        const table = `"__ds_win_${i}"`;
        await exec(`CREATE OR REPLACE TEMP TABLE ${table} AS ${expansion(i)}`);
        shared.set(i, table);
      }
    }
    const relation = (i: number): string => shared.get(firstOf[i]!) ?? `(${expansion(i)})`;
    const emit = this.emitTemplate(relation);
    if (!this.created) {
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${emit}) LIMIT 0`);
      this.created = true;
    }
    await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
    await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${emit})`);
    for (const table of shared.values()) await exec(`DROP TABLE IF EXISTS ${table}`);
    if (this.mode !== 'complete') await this.evict(exec, hi);
  }

  /** Drop rows whose every window has closed (window_end <= the new watermark); store the batch's others. */
  private async evict(exec: Exec, hi: string): Promise<void> {
    for (const s of this.streams) {
      const tvfs = this.tvfs.filter((t) => t.source === s);
      if (tvfs.every((t) => t.kind !== 'session')) {
        // The last window holding a row starts at the row's slide boundary and ends `size` later (tumble: slide = size).
        const keep = tvfs.map((t) => `make_timestamp(${lastWindowStartUs(t)} + ${t.sizeUs}) > ${hi}`).join(' OR ');
        // IS NOT TRUE: a row without event time is in no window.
        await exec(`DELETE FROM ${this.buffer(s)} WHERE (${keep}) IS NOT TRUE`);
        if (this.storeOnlyOpen) await exec(`INSERT INTO ${this.buffer(s)} BY NAME ${this.onTime(s)} WHERE ${keep}`);
      } else {
        const closed = tvfs.map((t) => `SELECT _topic, _partition, _offset FROM (${windowExpansionSql(t, this.buffer(s), `window_end <= ${hi}`)})`).join(' INTERSECT ');
        await exec(`DELETE FROM ${this.buffer(s)} WHERE (_topic, _partition, _offset) IN (${closed})`);
      }
    }
  }
}

function sameWindow(a: WindowTvf, b: WindowTvf): boolean {
  return a.source === b.source && a.kind === b.kind && a.timeSql === b.timeSql && a.sizeUs === b.sizeUs && a.slideUs === b.slideUs && a.keySql.join('\u0000') === b.keySql.join('\u0000');
}
