import { onTimeTable, stateTable, type Exec } from './operator.js';
import type { PaneSpec } from './window-panes.js';
import { lastWindowStartUs } from './window-tvf.js';

/**
 * One pane state table: a row per (row keys, pane) with the partial aggregates of the rows seen so far in that pane
 * (`__k<i>`, `__ds_pane` = the pane's start in µs, `__p<i>`). A window of size/slide panes is the combination of
 * its panes' partials. A pane is dropped once the last window holding it has closed (its start + size <= the
 * watermark), as the raw rows it replaces would be.
 */
export class PaneState {
  readonly table: string;
  private readonly batch: string;
  private readonly n: bigint;

  constructor(
    sink: string,
    readonly index: number,
    readonly spec: PaneSpec,
  ) {
    this.table = stateTable(`pane${index}`, sink, spec.tvf.source);
    this.batch = `"__ds_bp_${index}"`;
    this.n = spec.tvf.sizeUs / spec.tvf.slideUs;
  }

  private get keys(): string[] {
    return this.spec.keySql.map((_, i) => `__k${i}`);
  }

  private partialsOf(relation: string, where: string): string {
    const t = this.spec.tvf;
    const select = [
      ...this.spec.keySql.map((k, i) => `${k} AS __k${i}`),
      `${lastWindowStartUs(t)} AS __ds_pane`,
      ...this.spec.partials.map((p, i) => `${p.partial} AS __p${i}`),
    ];
    const filter = [`(${t.timeSql}) IS NOT NULL`, ...(this.spec.whereSql ? [`(${this.spec.whereSql})`] : []), ...(where ? [where] : [])].join(' AND ');
    const groups = this.spec.keySql.map((_, i) => i + 1).concat(this.spec.keySql.length + 1);
    return `SELECT ${select.join(', ')} FROM ${relation} AS ${JSON.stringify(t.alias)} WHERE ${filter} GROUP BY ${groups.join(', ')}`;
  }

  /**
   * First batch of this process: create the table. A checkpoint written before pane state existed keeps the raw rows
   * of open windows in `rawBuffer`: they are folded in once (only when this table did not exist yet).
   */
  async create(exec: Exec, rawBuffer: string): Promise<void> {
    const name = this.table.slice('state.'.length).replaceAll('"', '');
    const seed = `"__ds_seed_${this.index}"`;
    await exec(
      `CREATE OR REPLACE TEMP TABLE ${seed} AS ${this.partialsOf(rawBuffer, `NOT EXISTS (SELECT 1 FROM duckdb_tables() WHERE database_name = 'state' AND table_name = '${name.replaceAll("'", "''")}')`)}`,
    );
    await exec(`CREATE TABLE IF NOT EXISTS ${this.table} AS SELECT * FROM ${seed} LIMIT 0`);
    await exec(`INSERT INTO ${this.table} SELECT * FROM ${seed}`);
    await exec(`DROP TABLE ${seed}`);
  }

  /** This batch's partials, from its on-time rows. */
  async fold(exec: Exec): Promise<void> {
    await exec(`CREATE OR REPLACE TEMP TABLE ${this.batch} AS ${this.partialsOf(onTimeTable(this.spec.tvf.source), '')}`);
  }

  /**
   * The windows `where` keeps (over `__ws`, `__we`): `__k<i>`, `__ws`, `__we`, `__p<i>`, from the stored panes and
   * this batch's (`merged`: stored only, the batch's are in). `paneWhere` filters panes before they are expanded.
   */
  windowsSql(where: string, paneWhere: string, merged: boolean): string {
    const t = this.spec.tvf;
    const keys = this.keys;
    const panes = merged ? this.table : `(SELECT * FROM ${this.table} UNION ALL SELECT * FROM ${this.batch})`;
    const start = `__ds_pane - __ds_k * ${t.slideUs}`;
    const expanded =
      `SELECT * EXCLUDE (__ds_pane, __ds_k), make_timestamp(${start}) AS __ws, make_timestamp(${start} + ${t.sizeUs}) AS __we ` +
      `FROM (SELECT * FROM ${panes}${paneWhere ? ` WHERE ${paneWhere}` : ''}) CROSS JOIN range(0, ${this.n}) AS __ds_r(__ds_k)`;
    const combined = this.spec.partials.map((p, i) => `${p.combine} AS __p${i}`);
    const groupBy = [...keys, '__ws', '__we'].join(', ');
    return `SELECT ${[...keys, '__ws', '__we', ...combined].join(', ')} FROM (${expanded})${where ? ` WHERE ${where}` : ''} GROUP BY ${groupBy}`;
  }

  /**
   * Fold this batch's partials into the stored ones (only the panes it touched are rewritten); with `hi`, drop the
   * panes whose last window closed at watermark `hi` (their start + size <= hi).
   */
  async merge(exec: Exec, hi: string | undefined): Promise<void> {
    const keys = [...this.keys, '__ds_pane'];
    const same = keys.map((k) => `s.${k} IS NOT DISTINCT FROM b.${k}`).join(' AND ');
    const combined = this.spec.partials.map((p, i) => `${p.combine} AS __p${i}`);
    const open = hi === undefined ? '' : this.open(hi);
    const merged = `"__ds_pm_${this.index}"`;
    await exec(
      `CREATE OR REPLACE TEMP TABLE ${merged} AS SELECT ${[...keys, ...combined].join(', ')} FROM ` +
        `(SELECT s.* FROM ${this.table} AS s SEMI JOIN ${this.batch} AS b ON ${same} UNION ALL SELECT * FROM ${this.batch})${open ? ` WHERE ${open}` : ''} GROUP BY ${keys.join(', ')}`,
    );
    await exec(`DELETE FROM ${this.table} AS s WHERE ${open ? `(${open}) IS NOT TRUE OR ` : ''}EXISTS (SELECT 1 FROM ${this.batch} AS b WHERE ${same})`);
    await exec(`INSERT INTO ${this.table} SELECT * FROM ${merged}`);
    await exec(`DROP TABLE ${merged}`);
    await exec(`DROP TABLE ${this.batch}`);
  }

  /** Drop the panes whose last window closed at watermark `hi`. */
  async evict(exec: Exec, hi: string): Promise<void> {
    await exec(`DELETE FROM ${this.table} WHERE (${this.open(hi)}) IS NOT TRUE`);
  }

  private open(hi: string): string {
    return `make_timestamp(__ds_pane + ${this.spec.tvf.sizeUs}) > ${hi}`;
  }
}
