import { columnRef, distinctOnTargets as modifierTargets, groupExpressions, modifiers, selectList, type TreeNode } from '../sql/parse-tree.js';

/*
 * Facts about the top SELECT of a sink's query that both the unsupported-operation checker and the planners read.
 */

const WINDOW_COLUMNS = new Set(['window_start', 'window_end']);

/** The `DISTINCT ON (…)` expressions of the top SELECT, if it has them. */
export function distinctOnTargets(tree: TreeNode): TreeNode[] {
  const distinct = modifiers(tree).find((m) => m['type'] === 'DISTINCT_MODIFIER');
  return distinct ? modifierTargets(distinct) : [];
}

/** Output columns of the top SELECT that are plain GROUP BY columns: they identify a result row. */
export function groupKeyColumns(tree: TreeNode): string[] {
  const grouped = new Set(
    groupExpressions(tree)
      .map(columnRef)
      .filter((names) => names !== undefined)
      .map((names) => (names.at(-1) ?? '').toLowerCase()),
  );
  const keys: string[] = [];
  for (const item of selectList(tree)) {
    const names = columnRef(item);
    if (!names) continue;
    const name = names.at(-1)!;
    if (grouped.has(name.toLowerCase()) || tree['aggregate_handling'] === 'FORCE_AGGREGATES') keys.push(String(item['alias'] || name));
  }
  return keys;
}

/** A reference to `window_start` or `window_end` (qualified or not). */
export function isWindowColumn(expr: unknown): boolean {
  const names = columnRef(expr);
  return names !== undefined && WINDOW_COLUMNS.has(names[names.length - 1]!.toLowerCase());
}
