import { queryReads } from '../job/source-columns.js';
import { projectionSql } from './window-columns.js';
import type { Engine } from '../sql/engine.js';
import {
  baseTable,
  baseTableNode,
  conjuncts,
  deparse,
  expressionSql,
  forEachNode,
  fromTable,
  functionCall,
  joinRef,
  rewrite,
  columnRef,
  tableAlias,
  whereClause,
  type TreeNode,
} from '../sql/parse-tree.js';

/** One place where a query reads a stream, replaced by a placeholder table name in the query's SQL. */
export interface StreamRef {
  readonly token: string;
  readonly source: string;
  readonly alias: string;
  /** WHERE / inner ON conjuncts that read this reference only (SQL over `alias`), ANDed; undefined if none. */
  readonly filterSql: string | undefined;
  /** The SELECT whose FROM holds it (references with the same scope are joined there). */
  readonly scope: number;
  /** All WHERE / ON conjuncts of that SELECT, or undefined if its FROM has other than inner joins. */
  readonly scopeConjuncts: readonly TreeNode[] | undefined;
}

/** Functions whose value is not a function of the row: a filter using them cannot move into what is stored. */
const VOLATILE = new Set([
  'random',
  'now',
  'current_timestamp',
  'get_current_timestamp',
  'current_date',
  'current_time',
  'gen_random_uuid',
  'uuid',
  'nextval',
  'currval',
  'setseed',
]);

/**
 * Replace every stream reference by a placeholder (keeping its alias), and find for each reference the conjuncts
 * that read only it: those can be applied before its rows are stored (the query still applies them too).
 * Conjuncts come from the WHERE of the SELECT whose FROM holds the reference, and from the ON of inner joins in
 * that FROM — never across an outer join, where filtering one side early would change the NULL rows.
 */
export async function streamRefs(engine: Engine, tree: TreeNode, streams: ReadonlySet<string>): Promise<{ sql: string; refs: StreamRef[] }> {
  const pushable = new Map<TreeNode, TreeNode[]>();
  const scopes = new Map<TreeNode, { id: number; conjuncts: TreeNode[] | undefined }>();
  let scopeCount = 0;
  forEachNode(tree, (n) => {
    if (n['type'] !== 'SELECT_NODE') return;
    const tables: TreeNode[] = [];
    const scopeConjuncts: TreeNode[] = [...conjuncts(whereClause(n))];
    let innerOnly = true;
    const walk = (node: TreeNode | undefined) => {
      if (!node) return;
      if (node['type'] === 'BASE_TABLE') tables.push(node);
      const join = joinRef(node);
      if (!join) return;
      if (join.joinType !== 'INNER' || (join.refType !== 'REGULAR' && join.refType !== 'CROSS')) innerOnly = false;
      scopeConjuncts.push(...conjuncts(join.condition));
      walk(join.left);
      walk(join.right);
    };
    walk(fromTable(n));
    const id = scopeCount++;
    for (const t of tables) scopes.set(t, { id, conjuncts: innerOnly ? scopeConjuncts : undefined });
    if (!innerOnly) return;
    for (const t of tables) {
      const alias = tableAlias(t).toLowerCase();
      pushable.set(
        t,
        scopeConjuncts.filter((c) => readsOnly(c, alias)),
      );
    }
  });
  const found: { token: string; source: string; alias: string; filters: TreeNode[]; scope: number; scopeConjuncts: TreeNode[] | undefined }[] = [];
  const edited = rewrite(tree, (node) => {
    const table = baseTable(node);
    if (!table || !streams.has(table.name.toLowerCase()) || table.schema) return undefined;
    const name = table.name;
    const token = `__ds_src_${found.length}`;
    const alias = table.alias || name;
    const scope = scopes.get(node);
    found.push({ token, source: name, alias, filters: pushable.get(node) ?? [], scope: scope?.id ?? -1 - found.length, scopeConjuncts: scope?.conjuncts });
    return { ...node, table_name: token, alias };
  });
  const refs: StreamRef[] = [];
  for (const f of found) {
    const parts = await Promise.all(f.filters.map(async (c) => `(${await expressionSql(engine, c)})`));
    refs.push({
      token: f.token,
      source: f.source,
      alias: f.alias,
      filterSql: parts.length > 0 ? parts.join(' AND ') : undefined,
      scope: f.scope,
      scopeConjuncts: f.scopeConjuncts,
    });
  }
  return { sql: await deparse(engine, edited), refs };
}

/** Every column the conjunct reads is `alias.column`, and nothing in it depends on more than the row. */
export function readsOnly(expr: TreeNode, alias: string): boolean {
  let columns = 0;
  let ok = true;
  forEachNode(expr, (n) => {
    const cls = n['class'];
    if (cls === 'SUBQUERY' || cls === 'WINDOW' || cls === 'LAMBDA' || cls === 'STAR' || cls === 'PARAMETER') ok = false;
    const call = functionCall(n);
    if (call && VOLATILE.has(call.name.toLowerCase())) ok = false;
    const names = columnRef(n);
    if (names) {
      if (names.length < 2 || names[0]!.toLowerCase() !== alias) ok = false;
      columns++;
    }
  });
  return ok && columns > 0;
}

/**
 * The column names a query may read from its streams, lower-cased (an over-approximation: every identifier of
 * every column reference), or undefined when it may read columns it does not name. The analysis is the job's own
 * (src/job/source-columns.ts `queryReads`: `*`, COLUMNS(…), NATURAL joins, whole-row references, column aliases on
 * a table…). Rows kept in state need only these columns.
 */
export function referencedColumns(tree: TreeNode): string[] | undefined {
  const reads = queryReads(tree, []);
  // never zero columns: a stored row must still count as one
  return reads.everything ? undefined : [...new Set(['_offset', ...reads.names])].sort();
}

/** SELECT list that keeps only `columns` of a relation (all of them when undefined). */
export function projection(columns: readonly string[] | undefined): string {
  return projectionSql(columns && new Set(columns));
}

/** Replace a placeholder identifier (as DuckDB's deparser prints it, quoted or not) by SQL text. */
export function replaceIdent(sql: string, token: string, replacement: string): string {
  return sql.replace(new RegExp(`"?${token}"?(?![A-Za-z0-9_])`, 'g'), () => replacement);
}

/** Replace every BASE_TABLE reference to a stream by a placeholder table name (keeping the alias it had). */
export async function replaceStreams(
  engine: Engine,
  tree: TreeNode,
  streams: ReadonlySet<string>,
): Promise<{ sql: string; placeholders: { token: string; source: string }[] }> {
  const placeholders: { token: string; source: string }[] = [];
  const edited = rewrite(tree, (node) => {
    const table = baseTable(node);
    if (!table || !streams.has(table.name.toLowerCase()) || table.schema) return undefined;
    const token = `__ds_src_${placeholders.length}`;
    placeholders.push({ token, source: table.name });
    return baseTableNode(token, table.alias || table.name);
  });
  return { sql: await deparse(engine, edited), placeholders };
}
