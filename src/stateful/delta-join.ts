import { BOUNDS, onTimeTable, stateTable, type Exec } from './operator.js';
import type { SourceTimeInfo } from './plan-sink.js';
import { expressionSql, type TreeNode } from '../sql/parse-tree.js';
import { projection, readsOnly, replaceIdent, type StreamRef } from './stream-refs.js';
import type { Engine } from '../sql/engine.js';

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
      await exec(`CREATE OR REPLACE TEMP TABLE ${deltas[i]} AS SELECT ${projection(this.columns)} FROM ${onTimeTable(r.source)} AS ${JSON.stringify(r.alias)}${where}`);
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
      await exec(`INSERT INTO ${this.buffer(r, i)} SELECT * FROM ${deltas[i]} AS ${JSON.stringify(r.alias)}${e ? ` WHERE NOT coalesce(${gone(e)}, false)` : ''}`);
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

/**
 * Per reference, the expression whose value below the watermark means no future row can join it (see DeltaJoin),
 * from the conjuncts of a two-way inner join; undefined where there is none.
 */
export async function expiryOf(engine: Engine, refs: readonly StreamRef[], sources: readonly SourceTimeInfo[]): Promise<(string | undefined)[]> {
  // With three references two old rows may still meet a new third; the conjuncts must be those of one inner join.
  const conjuncts = refs[0]?.scopeConjuncts;
  if (refs.length !== 2 || refs[0]!.scope !== refs[1]!.scope || !conjuncts) return refs.map(() => undefined);
  const out: (string | undefined)[] = [];
  for (const [i, x] of refs.entries()) {
    const y = refs[1 - i]!;
    const yTime = sources.find((s) => s.name.toLowerCase() === y.source.toLowerCase())?.eventTimeSql?.replaceAll('"', '').toLowerCase();
    const bounds: string[] = [];
    for (const [lhs, rhs] of conjuncts.flatMap(asLessOrEqual)) {
      const names = lhs['class'] === 'COLUMN_REF' ? (lhs['column_names'] as string[]).map((n) => n.toLowerCase()) : [];
      const isYTime = yTime !== undefined && names.length === 2 && names[0] === y.alias.toLowerCase() && names[1] === yTime;
      if (isYTime && x.alias.toLowerCase() !== y.alias.toLowerCase() && readsOnly(rhs, x.alias.toLowerCase())) bounds.push(`(${await expressionSql(engine, rhs)})`);
    }
    out.push(bounds.length === 0 ? undefined : bounds.length === 1 ? bounds[0] : `least(${bounds.join(', ')})`);
  }
  return out;
}

/** A conjunct as `lhs <= rhs` pairs (`<` is kept as `<=`: dropping later is still safe). */
function asLessOrEqual(c: TreeNode): [TreeNode, TreeNode][] {
  const l = c['left'] as TreeNode;
  const r = c['right'] as TreeNode;
  switch (c['type']) {
    case 'COMPARE_LESSTHAN':
    case 'COMPARE_LESSTHANOREQUALTO':
      return [[l, r]];
    case 'COMPARE_GREATERTHAN':
    case 'COMPARE_GREATERTHANOREQUALTO':
      return [[r, l]];
    case 'COMPARE_BETWEEN':
      return [
        [c['lower'] as TreeNode, c['input'] as TreeNode],
        [c['input'] as TreeNode, c['upper'] as TreeNode],
      ];
    default:
      return [];
  }
}
