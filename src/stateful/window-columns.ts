import type { TreeNode } from './sql-tree.js';

/**
 * The names a windowed query may read from its sources' rows, taken from DuckDB's parse tree: every part of every
 * column reference (`B.auction` gives `b` and `auction`; a struct path keeps its root). A superset is harmless:
 * only source columns whose name is in the set are kept in state. Undefined means "keep every column", whenever
 * the query can see columns it does not name:
 * - `*`, `t.*`, `COLUMNS(…)`, positional references (`#1`);
 * - `NATURAL` joins (they join on whatever columns the sides share); `USING (k)` adds `k`;
 * - a relation referenced as a whole row (`SELECT b FROM TUMBLE(bid, …) b` gives a struct of all columns);
 * - columns renamed by position (`TUMBLE(…) AS t(x, y)`);
 * - a TVF whose event time names no column (nothing to anchor the projection on).
 * The first argument of each window TVF names the source, not a column, and is skipped.
 */
export function referencedColumns(tree: TreeNode, tvfNodes: readonly TreeNode[], relationNames: ReadonlySet<string>): Set<string> | undefined {
  const names = new Set<string>();
  let all = false;
  const visit = (value: unknown): void => {
    if (all) return;
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as TreeNode;
    const cls = node['class'];
    if (cls === 'STAR' || cls === 'POSITIONAL_REFERENCE' || node['ref_type'] === 'NATURAL') {
      all = true;
      return;
    }
    if (cls === 'COLUMN_REF') {
      const parts = (node['column_names'] as string[]).map((p) => p.toLowerCase());
      if (parts.length === 1 && relationNames.has(parts[0]!)) all = true;
      for (const p of parts) names.add(p);
    }
    for (const u of (node['using_columns'] as string[] | undefined) ?? []) names.add(u.toLowerCase());
    if (tvfNodes.includes(node)) {
      if (((node['column_name_alias'] as unknown[] | undefined) ?? []).length > 0) {
        all = true;
        return;
      }
      const args = (node['function'] as TreeNode)['children'] as TreeNode[];
      if (!hasColumnRef(args[1])) {
        all = true;
        return;
      }
      for (const [k, v] of Object.entries(node)) if (k !== 'function') visit(v);
      visit(args.slice(1));
      return;
    }
    for (const v of Object.values(node)) visit(v);
  };
  visit(tree);
  return all ? undefined : names;
}

function hasColumnRef(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasColumnRef);
  if (value === null || typeof value !== 'object') return false;
  if ((value as TreeNode)['class'] === 'COLUMN_REF') return true;
  return Object.values(value as TreeNode).some(hasColumnRef);
}

/** A `SELECT` list of the kept columns of a source's rows (in the source's order), or `*`. */
export function projectionSql(columns: ReadonlySet<string> | undefined): string {
  if (!columns) return '*';
  const list = [...columns].sort().map((c) => `'${c.replaceAll("'", "''")}'`).join(', ');
  return `COLUMNS(c -> lower(c) IN (${list}))`;
}
