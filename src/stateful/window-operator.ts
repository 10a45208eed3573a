import { BOUNDS, onTimeTable, stateTable, type Exec, type OutputMode, type StatefulOperator } from './operator.js';
import { PaneState } from './pane-state.js';
import { projectionSql } from './window-columns.js';
import type { PanePlan } from './window-panes.js';
import type { PruneRule } from './window-prune.js';
import { lastWindowStartUs, windowExpansionSql, type WindowTvf } from './window-tvf.js';

/** Aggregate sub-selects computed from pane partials (window-panes.ts), and raw rows that can be dropped early. */
export interface WindowPanes {
  readonly plan: PanePlan;
  /** The query with pane sub-selects reading `aggRelation(i)`, other TVFs `tvfRelation(i)`. */
  readonly template: (tvfRelation: (i: number) => string, aggRelation: (i: number) => string) => string;
  readonly prune: readonly PruneRule[];
}

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
 * A GROUP BY sub-select of count/min/max straight over a TUMBLE/HOP keeps one partial per (keys, pane) instead of
 * rows (pane-state.ts); the rows a join with a window's max/min can never emit are not kept (window-prune.ts).
 */
export class WindowOperator implements StatefulOperator {
  readonly storesWholeRows = false;
  get storesNamedColumnsOnly(): boolean {
    return !this.findsRowsByLogPosition;
  }
  readonly streams: readonly string[];
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description: string;
  private created = false;
  /** Per source: the SELECT list of the columns kept in state. */
  private readonly projection = new Map<string, string>();
  /** Rows whose windows all close in their own batch are never stored (TUMBLE/HOP, append/update). */
  private readonly storeOnlyOpen: boolean;
  /** TVFs evaluated over raw rows (all of them without panes). */
  private readonly rawTvfs: readonly number[];
  /** Sources whose raw rows are kept. */
  private readonly rawStreams: readonly string[];
  private readonly panes: readonly PaneState[];
  /** Session windows also keep `_topic, _partition, _offset` of the rows they store, whatever the query names. */
  readonly findsRowsByLogPosition: boolean;

  constructor(
    readonly sink: string,
    readonly mode: OutputMode,
    private readonly tvfs: readonly WindowTvf[],
    /** The query with each TVF replaced by `{{tvf:i}}` table placeholders. */
    private readonly emitTemplate: (tvfRelation: (i: number) => string) => string,
    readonly keyColumns: readonly string[],
    private readonly paned?: WindowPanes,
  ) {
    this.streams = [...new Set(tvfs.map((t) => t.source))];
    this.rawTvfs = tvfs.map((_, i) => i).filter((i) => !paned?.plan.uses.has(i));
    this.rawStreams = this.streams.filter((s) => this.rawTvfs.some((i) => tvfs[i]!.source === s));
    this.panes = (paned?.plan.specs ?? []).map((spec, i) => new PaneState(sink, i, spec));
    this.stateTables = [...this.rawStreams.map((s) => stateTable('buf', sink, s)), ...this.panes.map((p) => p.table)];
    this.outputTable = stateTable('out', sink);
    const kept = [...(this.panes.length > 0 ? ['partials per pane'] : []), ...((paned?.prune.length ?? 0) > 0 ? ['rows below the window max dropped'] : [])];
    this.description = `${tvfs.map((t) => t.kind.toUpperCase()).join(' ⋈ ')} window ${mode}${kept.map((k) => `, ${k}`).join('')}`;
    const session = tvfs.some((t) => t.kind === 'session');
    this.findsRowsByLogPosition = session;
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
    if (!this.created) await this.createState(exec);
    // BY NAME: a buffer created by an older version may hold more columns than are kept now.
    if (!this.storeOnlyOpen) for (const s of this.rawStreams) await exec(`INSERT INTO ${this.buffer(s)} BY NAME ${this.onTime(s)}`);
    for (const p of this.panes) await p.fold(exec);
    // The bounds as constants (a scalar subquery in a filter becomes a join, and the filter is not pushed down).
    await exec(`SET VARIABLE __ds_lo = (SELECT lo FROM ${BOUNDS})`);
    await exec(`SET VARIABLE __ds_hi = (SELECT hi FROM ${BOUNDS})`);
    const lo = `getvariable('__ds_lo')`;
    const hi = `getvariable('__ds_hi')`;
    // With rows pruned by a running max: panes merged and the batch's rows that can still join stored first, so the
    // windows closing now are evaluated over the few rows kept, not over the whole batch.
    const pruneFirst = this.storeOnlyOpen && (this.paned?.prune.length ?? 0) > 0;
    const pruned = new Set(pruneFirst ? this.paned!.prune.map((r) => this.tvfs[r.tvf]!.source) : []);
    if (pruneFirst) {
      for (const p of this.panes) await p.merge(exec, undefined);
      for (const rule of this.paned!.prune) await this.storeUnbeaten(exec, rule);
    }
    const input = (s: string) =>
      this.storeOnlyOpen && !pruned.has(s) ? `(SELECT * FROM ${this.buffer(s)} UNION ALL BY NAME ${this.onTime(s)})` : this.buffer(s);
    const shared = new Map<string, string>();
    const emit = await this.emitSql(exec, { lo, hi, input, merged: pruneFirst, shared });
    if (!this.created) {
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${emit}) LIMIT 0`);
      this.created = true;
    }
    await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
    await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${emit})`);
    for (const table of shared.values()) await exec(`DROP TABLE IF EXISTS ${table}`);
    for (const p of this.panes) await (pruneFirst ? p.evict(exec, hi) : p.merge(exec, this.mode === 'complete' ? undefined : hi));
    if (this.mode !== 'complete') await this.evict(exec, hi, pruned);
  }

  /**
   * The user's query over the windows to emit: raw TVFs read `input(source)` expanded into windows, pane sub-selects
   * their combined panes (`merged`: the batch's partials are in the stored ones already). Relations several
   * references share are materialised once, as temp tables listed in `shared` (dropped by the caller).
   */
  private async emitSql(
    exec: Exec,
    o: { lo: string; hi: string; input: (source: string) => string; merged: boolean; shared: Map<string, string> },
  ): Promise<string> {
    const { lo, hi, input, merged, shared } = o;
    if (this.mode === 'update') {
      for (const [i, t] of this.tvfs.entries()) {
        await exec(
          `CREATE OR REPLACE TEMP TABLE "__ds_touched_${i}" AS SELECT DISTINCT window_start, window_end FROM (${windowExpansionSql(t, onTimeTable(t.source))})`,
        );
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
        return windowExpansionSql(
          t,
          input(t.source),
          `window_end > ${lo} AND (window_start, window_end) IN (SELECT window_start, window_end FROM "__ds_touched_${i}")`,
        );
      }
      return windowExpansionSql(t, input(t.source));
    };
    const windows = (i: number): string => {
      const p = this.panes[this.paned!.plan.uses.get(i)!.spec]!;
      if (this.mode === 'append') return p.windowsSql(`__we > ${lo} AND __we <= ${hi}`, `make_timestamp(__ds_pane + ${p.spec.tvf.slideUs}) <= ${hi}`, merged);
      if (this.mode === 'update')
        return p.windowsSql(`__we > ${lo} AND (__ws, __we) IN (SELECT window_start, window_end FROM "__ds_touched_${i}")`, '', merged);
      return p.windowsSql('', '', merged);
    };
    // References to the same window of the same source (a self-join, q5/q7) share one expansion; pane sub-selects
    // of the same state, one combination.
    const share = async (
      kind: string,
      indices: readonly number[],
      same: (a: number, b: number) => boolean,
      sql: (i: number) => string,
    ): Promise<(i: number) => string> => {
      const firstOf = new Map(indices.map((i) => [i, indices.find((j) => same(i, j))!]));
      for (const i of indices) {
        if (firstOf.get(i) === i && indices.filter((j) => firstOf.get(j) === i).length > 1) {
          const table = `"__ds_${kind}_${i}"`;
          await exec(`CREATE OR REPLACE TEMP TABLE ${table} AS ${sql(i)}`);
          shared.set(`${kind}${i}`, table);
        }
      }
      return (i) => shared.get(`${kind}${firstOf.get(i)!}`) ?? `(${sql(i)})`;
    };
    const tvfRelation = await share('win', this.rawTvfs, (a, b) => sameWindow(this.tvfs[a]!, this.tvfs[b]!), expansion);
    const paneTvfs = [...(this.paned?.plan.uses.keys() ?? [])];
    const specOf = (i: number) => this.paned!.plan.uses.get(i)!.spec;
    const aggRelation = await share('agg', paneTvfs, (a, b) => specOf(a) === specOf(b) && sameWindow(this.tvfs[a]!, this.tvfs[b]!), windows);
    return this.paned ? this.paned.template(tvfRelation, aggRelation) : this.emitTemplate(tvfRelation);
  }

  private async createState(exec: Exec): Promise<void> {
    // Pane state is seeded from a raw buffer a checkpoint of an older version may hold (created empty otherwise).
    const buffered = this.panes.length > 0 ? this.streams : this.rawStreams;
    for (const s of buffered) await exec(`CREATE TABLE IF NOT EXISTS ${this.buffer(s)} AS ${this.onTime(s)} LIMIT 0`);
    for (const p of this.panes) await p.create(exec, this.buffer(p.spec.tvf.source));
    for (const s of this.streams) if (!this.rawStreams.includes(s) && this.panes.length > 0) await exec(`DROP TABLE ${this.buffer(s)}`);
  }

  /**
   * Drop rows whose every window has closed (window_end <= the new watermark); store the batch's others (those of
   * `stored` sources are in already).
   */
  private async evict(exec: Exec, hi: string, stored: ReadonlySet<string>): Promise<void> {
    for (const s of this.rawStreams) {
      const tvfs = this.rawTvfs.map((i) => this.tvfs[i]!).filter((t) => t.source === s);
      if (tvfs.every((t) => t.kind !== 'session')) {
        // The last window holding a row starts at the row's slide boundary and ends `size` later (tumble: slide = size).
        const keep = tvfs.map((t) => `make_timestamp(${lastWindowStartUs(t)} + ${t.sizeUs}) > ${hi}`).join(' OR ');
        // IS NOT TRUE: a row without event time is in no window.
        await exec(`DELETE FROM ${this.buffer(s)} WHERE (${keep}) IS NOT TRUE`);
        if (this.storeOnlyOpen && !stored.has(s)) await exec(`INSERT INTO ${this.buffer(s)} BY NAME ${this.onTime(s)} WHERE ${keep}`);
      } else {
        const closed = tvfs
          .map((t) => `SELECT _topic, _partition, _offset FROM (${windowExpansionSql(t, this.buffer(s), `window_end <= ${hi}`)})`)
          .join(' INTERSECT ');
        await exec(`DELETE FROM ${this.buffer(s)} WHERE (_topic, _partition, _offset) IN (${closed})`);
      }
    }
  }

  /**
   * Keep only rows that can still join their window's max (min): drop kept rows now below it, and store the batch's
   * rows not below it (the pane state holds the running aggregate, this batch merged in). Rows without event time
   * are in no window.
   */
  private async storeUnbeaten(exec: Exec, rule: PruneRule): Promise<void> {
    const t = this.tvfs[rule.tvf]!;
    const s = t.source;
    const panes = this.panes[rule.spec]!.table;
    const beaten = (row: string) =>
      [
        `p.__ds_pane = ${row}.__ds_row_pane`,
        ...rule.keys.map((k) => `p.__k${k.index} = ${row}.${JSON.stringify(k.column)}`),
        `p.__p${rule.partial} ${rule.fn === 'max' ? '>' : '<'} ${row}.${JSON.stringify(rule.column)}`,
      ].join(' AND ');
    await exec(
      `DELETE FROM ${this.buffer(s)} WHERE rowid IN (SELECT b.rowid FROM (SELECT rowid, *, ${lastWindowStartUs(t)} AS __ds_row_pane FROM ${this.buffer(s)}) AS b ` +
        `SEMI JOIN ${panes} AS p ON ${beaten('b')})`,
    );
    await exec(
      `INSERT INTO ${this.buffer(s)} BY NAME SELECT o.* EXCLUDE (__ds_row_pane) FROM (SELECT ${this.projection.get(s)!}, ${lastWindowStartUs(t)} AS __ds_row_pane FROM ${onTimeTable(s)} WHERE (${t.timeSql}) IS NOT NULL) AS o ` +
        `ANTI JOIN ${panes} AS p ON ${beaten('o')}`,
    );
  }
}

function sameWindow(a: WindowTvf, b: WindowTvf): boolean {
  return (
    a.source === b.source &&
    a.kind === b.kind &&
    a.timeSql === b.timeSql &&
    a.sizeUs === b.sizeUs &&
    a.slideUs === b.slideUs &&
    a.keySql.join('\u0000') === b.keySql.join('\u0000')
  );
}
