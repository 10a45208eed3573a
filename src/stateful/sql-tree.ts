import type { Engine } from '../sql/engine.js';

/** A node of DuckDB's parse tree as `json_serialize_sql` gives it. */
export type TreeNode = Record<string, unknown>;

/**
 * Parse one SELECT with DuckDB's own parser. `query_location` is zeroed: its "unknown" value is 2^64-1, which a
 * JS number cannot hold, and `json_deserialize_sql` then refuses the tree.
 */
export async function parseSelect(engine: Engine, sql: string): Promise<TreeNode> {
  const [row] = await engine.all('SELECT json_serialize_sql($1::VARCHAR) AS tree', [sql]);
  const tree = JSON.parse(String(row?.['tree']), (key, value: unknown) => (key === 'query_location' ? 0 : value)) as TreeNode;
  if (tree['error']) throw new Error(String(tree['error_message'] ?? 'cannot parse the query'));
  const statements = tree['statements'] as TreeNode[];
  if (statements.length !== 1) throw new Error('expected exactly one SELECT statement');
  return statements[0]!['node'] as TreeNode;
}

/** Turn a (possibly edited) SELECT tree back into SQL text with DuckDB's own deparser. */
export async function deparse(engine: Engine, node: TreeNode): Promise<string> {
  const doc = { error: false, statements: [{ node, named_param_map: [] }] };
  const [row] = await engine.all('SELECT json_deserialize_sql($1::JSON) AS sql', [JSON.stringify(doc)]);
  return String(row?.['sql']);
}

/** The FROM-clause node of a one-table SELECT over `sql` (to splice a subquery into another tree). */
export async function tableRefOf(engine: Engine, sql: string, alias: string): Promise<TreeNode> {
  const node = await parseSelect(engine, `SELECT * FROM (${sql}) AS x`);
  const from = node['from_table'] as TreeNode;
  from['alias'] = alias;
  return from;
}

/** Deparse an expression node on its own. */
export async function expressionSql(engine: Engine, expr: TreeNode): Promise<string> {
  const select = await parseSelect(engine, 'SELECT 1');
  select['select_list'] = [expr];
  const sql = await deparse(engine, select);
  return sql.replace(/^SELECT\s+/i, '');
}

/** Visit every object node, depth first; `visit` may return a replacement node. */
export function rewrite(value: unknown, visit: (node: TreeNode) => TreeNode | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, visit));
  if (value === null || typeof value !== 'object') return value;
  const replaced = visit(value as TreeNode);
  if (replaced) return replaced;
  const out: TreeNode = {};
  for (const [k, v] of Object.entries(value as TreeNode)) out[k] = rewrite(v, visit);
  return out;
}

export function forEachNode(value: unknown, visit: (node: TreeNode) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) forEachNode(v, visit);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  visit(value as TreeNode);
  for (const v of Object.values(value as TreeNode)) forEachNode(v, visit);
}
