import { onTimeTable, stateTable, type Exec, type StatefulOperator } from './operator.js';
import { projection, replaceIdent, type StreamRef } from './stream-refs.js';
import { forEachNode, type TreeNode } from './sql-tree.js';

/**
 * Why a query over several stream references cannot run as an incremental inner join, or undefined if it can.
 * The delta rule below is exact only for queries linear in each reference: select, project, filter, inner
 * joins, UNION ALL. Outer, semi, anti and as-of joins, and streams inside subquery expressions, are not.
 */
export function regularJoinRefusal(tree: TreeNode, streams: ReadonlySet<string>): { why: string; fix: string } | undefined {
  let refusal: { why: string; fix: string } | undefined;
  const refuse = (why: string, fix: string) => {
    refusal ??= { why, fix };
  };
  const readsStream = (node: unknown) => {
    let found = false;
    forEachNode(node, (n) => {
      if (n['type'] === 'BASE_TABLE' && typeof n['table_name'] === 'string' && streams.has(n['table_name'].toLowerCase()) && !n['schema_name']) found = true;
    });
    return found;
  };
  forEachNode(tree, (n) => {
    if (n['type'] === 'JOIN') {
      const type = String(n['join_type']);
      const ref = String(n['ref_type']);
      if (type === 'LEFT' || type === 'RIGHT' || type === 'FULL' || type === 'OUTER') {
        refuse(
          `${type === 'OUTER' ? 'FULL' : type} OUTER join of streams without an event-time bound: a row without a partner may still find one later, so its NULL-padded row is never final`,
          "bound the join in event time (b.ts BETWEEN a.ts - INTERVAL '5 minutes' AND a.ts + INTERVAL '5 minutes'), so unmatched rows are emitted once the watermark passes; or use an INNER JOIN",
        );
      } else if (type !== 'INNER' || (ref !== 'REGULAR' && ref !== 'CROSS' && ref !== 'NATURAL')) {
        refuse(`${ref === 'REGULAR' ? type : ref} joins of streams are not supported (their output is not final row by row)`, 'use an INNER JOIN (or a window join)');
      }
    }
    if (n['class'] === 'SUBQUERY' && readsStream(n)) refuse('a stream read inside a subquery expression (IN, EXISTS, scalar subquery) of a stream–stream join', 'write it as an inner join in FROM');
    if (n['type'] === 'SET_OPERATION_NODE' && !(n['setop_type'] === 'UNION' && n['setop_all'] === true)) refuse(`${String(n['setop_type'])} over streams is not supported in a stream–stream join`, 'use UNION ALL');
    const ctes = (n['cte_map'] as { map?: { value?: unknown }[] } | undefined)?.map ?? [];
    if (ctes.some((c) => readsStream(c))) refuse('a stream read inside WITH (a CTE may be read more than once)', 'write the stream–stream join without WITH: FROM a JOIN b ON …');
  });
  return refusal;
}

/**
 * A regular (unbounded) stream–stream inner join, in append mode, as Spark and Flink run it: every stream
 * reference keeps its rows forever (state grows with the input: only the columns the query reads, and only rows
 * that pass the filters that read that reference alone), and each batch emits exactly the new result rows:
 *   Q(new) − Q(old) = Σᵢ Q(R₁′ … Rᵢ₋₁′, ΔRᵢ, Rᵢ₊₁ … Rₙ)   (R′ = R ∪ ΔR)
 * which holds for queries linear in each reference over insert-only inputs (see regularJoinRefusal). Each term
 * runs after the references before it took their batch in, so the sum needs no unions.
 */
export class RegularJoinOperator implements StatefulOperator {
  readonly mode = 'append' as const;
  readonly keyColumns: readonly string[] = [];
  readonly streams: readonly string[];
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description = 'stream–stream join (unbounded)';
  private created = false;

  constructor(
    readonly sink: string,
    /** The query with placeholders for the references. */
    private readonly sql: string,
    private readonly refs: readonly StreamRef[],
    /** Columns kept per stored row (undefined: all). */
    private readonly columns: readonly string[] | undefined,
  ) {
    this.streams = [...new Set(refs.map((r) => r.source))];
    this.stateTables = refs.map((r, i) => this.buffer(r, i));
    this.outputTable = stateTable('out', sink);
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    const deltas = this.refs.map((_, i) => `__ds_join_delta_${i}`);
    for (const [i, r] of this.refs.entries()) {
      const where = r.filterSql ? ` WHERE ${r.filterSql}` : '';
      await exec(`CREATE OR REPLACE TEMP TABLE ${deltas[i]} AS SELECT ${projection(this.columns)} FROM ${onTimeTable(r.source)} AS ${JSON.stringify(r.alias)}${where}`);
    }
    if (!this.created) {
      for (const [i, r] of this.refs.entries()) await exec(`CREATE TABLE IF NOT EXISTS ${this.buffer(r, i)} AS SELECT * FROM ${deltas[i]} LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${this.query((j) => deltas[j]!)}) LIMIT 0`);
      this.created = true;
    }
    await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
    for (const [i, r] of this.refs.entries()) {
      const term = this.query((j) => (j === i ? deltas[i]! : this.buffer(this.refs[j]!, j)));
      await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${term})`);
      await exec(`INSERT INTO ${this.buffer(r, i)} SELECT * FROM ${deltas[i]}`);
    }
  }

  private buffer(r: StreamRef, i: number): string {
    return stateTable('join', this.sink, `${i}_${r.source}`);
  }

  private query(relation: (ref: number) => string): string {
    return this.refs.reduce((s, r, j) => replaceIdent(s, r.token, relation(j)), this.sql);
  }
}
