import { queryReads } from '../job/source-columns.js';
import type { TreeNode } from '../sql/parse-tree.js';

/**
 * The names a windowed query may read from its sources' rows (lower-cased; every part of every column reference, a
 * superset is harmless: only source columns whose name is in the set are kept in state), or undefined for "keep
 * every column" whenever the query can see columns it does not name. The analysis is the job's own
 * (src/job/source-columns.ts `queryReads`: `*`, COLUMNS(…), positional references, NATURAL joins, whole-row
 * references, columns renamed by position, a window TVF whose event time names no column…), so state keeps
 * exactly what decoding keeps. `sources`: the windowed sources (the first argument of each TVF).
 */
export function referencedColumns(tree: TreeNode, sources: readonly string[]): Set<string> | undefined {
  const reads = queryReads(tree, sources);
  return reads.everything ? undefined : new Set(reads.names);
}

/** A `SELECT` list of the kept columns of a source's rows (in the source's order), or `*`. */
export function projectionSql(columns: ReadonlySet<string> | undefined): string {
  if (!columns) return '*';
  const list = [...columns]
    .sort()
    .map((c) => `'${c.replaceAll("'", "''")}'`)
    .join(', ');
  return `COLUMNS(c -> lower(c) IN (${list}))`;
}
