import type { DeltaJoin } from './delta-join.js';
import { stateTable, type Exec, type StatefulOperator } from './operator.js';
import { forEachNode, type TreeNode } from './sql-tree.js';

/**
 * Why a query over several stream references cannot run as an incremental inner join, or undefined if it can.
 * The delta rule (DeltaJoin) is exact only for queries linear in each reference: select, project, filter, inner
 * joins. Outer, semi, anti and as-of joins, set operations, and streams inside subquery expressions are not.
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
    // Not even UNION ALL: Q(A, B) = A ∪ B is not linear in A alone (Q(ΔA, B) would repeat B), so the delta rule fails.
    if (n['type'] === 'SET_OPERATION_NODE' && readsStream(n)) refuse(`${String(n['setop_type'])} of queries over several streams`, 'write one sink per branch (a stateless query each), or join the streams in one SELECT');
    const ctes = (n['cte_map'] as { map?: { value?: unknown }[] } | undefined)?.map ?? [];
    if (ctes.some((c) => readsStream(c))) refuse('a stream read inside WITH (a CTE may be read more than once)', 'write the stream–stream join without WITH: FROM a JOIN b ON …');
  });
  return refusal;
}

/**
 * A regular stream–stream inner join, in append mode, as Spark and Flink run it: each batch emits exactly the new
 * result rows (see DeltaJoin). State grows with the input unless the join's conjuncts bound it in event time
 * (`b.ts BETWEEN a.ts AND a.expires`: then rows leave once the watermark passes them).
 */
export class RegularJoinOperator implements StatefulOperator {
  readonly storesWholeRows = false;
  readonly storesNamedColumnsOnly = false;
  readonly mode = 'append' as const;
  readonly keyColumns: readonly string[] = [];
  readonly streams: readonly string[];
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description: string;

  constructor(
    readonly sink: string,
    private readonly join: DeltaJoin,
    streams: readonly string[],
  ) {
    this.streams = streams;
    this.stateTables = join.stateTables;
    this.outputTable = stateTable('out', sink);
    this.description = join.bounded ? 'stream–stream join (bounded by event-time conjuncts)' : 'stream–stream join (unbounded)';
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    let cleared = false;
    const clear = async () => {
      if (!cleared) await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
      cleared = true;
    };
    await this.join.run(
      exec,
      async (term) => {
        await clear();
        await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${term})`);
      },
      async (shape) => exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${shape}) LIMIT 0`),
    );
  }
}
