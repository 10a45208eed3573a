import { BOUNDS, onTimeTable, stateTable, type Exec } from './operator.js';
import { projection, replaceIdent, type StreamRef } from './stream-refs.js';

/**
 * The new rows of an inner join of stream references, batch by batch. Every reference keeps its rows (only the
 * columns the query reads, only rows passing the filters on that reference alone), and a batch's new rows are
 *   Q(new) − Q(old) = Σᵢ Q(R₁′ … Rᵢ₋₁′, ΔRᵢ, Rᵢ₊₁ … Rₙ)   (R′ = R ∪ ΔR)
 * exact for queries linear in each reference over insert-only inputs (select, project, filter, inner join).
 * Each term runs after the references before it took their batch in, so the sum needs no unions.
 *
 * A kept row is dropped once no future row can join it: in a two-way join, a conjunct `Y.t <= X.e` (Y.t the other
 * side's event time) fails for every future Y row once X.e < watermark, since rows older than the watermark are
 * late and never reach the join (`b.ts BETWEEN a.ts AND a.expires` drops a bid once the watermark passes its time
 * and an auction once it passes its expiry). Without such a conjunct state grows with the input.
 */
export class DeltaJoin {
  readonly stateTables: readonly string[];
  private created = false;

  constructor(
    private readonly sink: string,
    /** The query with placeholders for the references. */
    private readonly sql: string,
    private readonly refs: readonly StreamRef[],
    /** Columns kept per stored row (undefined: all). */
    private readonly columns: readonly string[] | undefined,
    /** Per reference: SQL over its alias; a kept row whose value is below the watermark can be dropped. */
    private readonly expiry: readonly (string | undefined)[],
  ) {
    this.stateTables = refs.map((r, i) => this.buffer(r, i));
  }

  /** Whether some reference's rows ever leave state. */
  get bounded(): boolean {
    return this.expiry.every((e) => e !== undefined);
  }

  /**
   * Run the batch: `emit(sql)` is called once per term with a query giving that term's new rows; `create(sql)`
   * once, before the first term ever, with a query of the result's shape.
   */
  async run(exec: Exec, emit: (sql: string) => Promise<void>, create: (sql: string) => Promise<void>): Promise<void> {
    const deltas = this.refs.map((_, i) => `__ds_join_delta_${i}`);
    for (const [i, r] of this.refs.entries()) {
      const where = r.filterSql ? ` WHERE ${r.filterSql}` : '';
      await exec(
        `CREATE OR REPLACE TEMP TABLE ${deltas[i]} AS SELECT ${projection(this.columns)} FROM ${onTimeTable(r.source)} AS ${JSON.stringify(r.alias)}${where}`,
      );
    }
    if (!this.created) {
      for (const [i, r] of this.refs.entries()) await exec(`CREATE TABLE IF NOT EXISTS ${this.buffer(r, i)} AS SELECT * FROM ${deltas[i]} LIMIT 0`);
      await create(this.query((j) => deltas[j]!));
      this.created = true;
    }
    // Timestamp comparison, not epoch_us: the drain batch's watermark is 'infinity'.
    const gone = (e: string) => `(${e}) < (SELECT hi FROM ${BOUNDS})`;
    for (const [i, r] of this.refs.entries()) {
      await emit(this.query((j) => (j === i ? deltas[i]! : this.buffer(this.refs[j]!, j))));
      // A new row already out of reach is never stored (most of a batch, when the watermark follows the data).
      const e = this.expiry[i];
      await exec(
        `INSERT INTO ${this.buffer(r, i)} SELECT * FROM ${deltas[i]} AS ${JSON.stringify(r.alias)}${e ? ` WHERE NOT coalesce(${gone(e)}, false)` : ''}`,
      );
    }
    for (const [i, r] of this.refs.entries()) {
      const e = this.expiry[i];
      if (e) await exec(`DELETE FROM ${this.buffer(r, i)} AS ${JSON.stringify(r.alias)} WHERE ${gone(e)}`);
    }
  }

  private buffer(r: StreamRef, i: number): string {
    return stateTable('join', this.sink, `${i}_${r.source}`);
  }

  private query(relation: (ref: number) => string): string {
    return this.refs.reduce((s, r, j) => replaceIdent(s, r.token, relation(j)), this.sql);
  }
}
