import { baseTable, cteEntries, forEachNode, joinRef, type TreeNode } from '../sql/parse-tree.js';

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
      if (isStreamTable(n, streams)) found = true;
    });
    return found;
  };
  forEachNode(tree, (n) => {
    const join = joinRef(n);
    if (join) {
      const type = join.joinType;
      const ref = join.refType;
      if (type === 'LEFT' || type === 'RIGHT' || type === 'FULL' || type === 'OUTER') {
        refuse(
          `${type === 'OUTER' ? 'FULL' : type} OUTER join of streams without an event-time bound: a row without a partner may still find one later, so its NULL-padded row is never final`,
          "bound the join in event time (b.ts BETWEEN a.ts - INTERVAL '5 minutes' AND a.ts + INTERVAL '5 minutes'), so unmatched rows are emitted once the watermark passes; or use an INNER JOIN",
        );
      } else if (type !== 'INNER' || (ref !== 'REGULAR' && ref !== 'CROSS' && ref !== 'NATURAL')) {
        refuse(
          `${ref === 'REGULAR' ? type : ref} joins of streams are not supported (their output is not final row by row)`,
          'use an INNER JOIN (or a window join)',
        );
      }
    }
    if (n['class'] === 'SUBQUERY' && readsStream(n))
      refuse('a stream read inside a subquery expression (IN, EXISTS, scalar subquery) of a stream–stream join', 'write it as an inner join in FROM');
    // Not even UNION ALL: Q(A, B) = A ∪ B is not linear in A alone (Q(ΔA, B) would repeat B), so the delta rule fails.
    if (n['type'] === 'SET_OPERATION_NODE' && readsStream(n))
      refuse(
        `${String(n['setop_type'])} of queries over several streams`,
        'write one sink per branch (a stateless query each), or join the streams in one SELECT',
      );
    if (cteEntries(n).some((c) => readsStream(c)))
      refuse('a stream read inside WITH (a CTE may be read more than once)', 'write the stream–stream join without WITH: FROM a JOIN b ON …');
  });
  return refusal;
}

/** A BASE_TABLE reference to one of `streams` (lower-cased names; a schema-qualified name is a table, not a stream). */
export function isStreamTable(n: TreeNode, streams: ReadonlySet<string>): boolean {
  const table = baseTable(n);
  return table !== undefined && streams.has(table.name.toLowerCase()) && !table.schema;
}
