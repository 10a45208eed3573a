import type { Engine } from './engine.js';

/*
 * DuckDB's own parse tree (`json_serialize_sql`), read through named accessors. The tree is untyped JSON whose shape
 * is DuckDB's (it may grow fields between versions): every read of a field goes through this module, so a field
 * renamed by DuckDB is fixed in one place, and callers say what they look for (`selectList(n)`, `columnRef(n)`)
 * instead of casting `n['select_list']`.
 */

/** A node of DuckDB's parse tree as `json_serialize_sql` gives it (kept as a plain record: nodes are edited and deparsed). */
export type TreeNode = Record<string, unknown>;

/** A statement of `json_serialize_sql`'s output: the node and its parameter map. */
export interface SerializedStatement {
  readonly node: TreeNode;
  readonly [field: string]: unknown;
}

/**
 * Parse SQL text with DuckDB's parser: the statements, or an Error with DuckDB's message. `query_location` is zeroed:
 * its "unknown" value is 2^64-1, which a JS number cannot hold, and `json_deserialize_sql` then refuses the tree.
 */
export async function serializeSql(engine: Engine, sql: string): Promise<SerializedStatement[]> {
  const [row] = await engine.all('SELECT json_serialize_sql($1::VARCHAR) AS tree', [sql]);
  const tree = JSON.parse(String(row?.['tree']), (key, value: unknown) => (key === 'query_location' ? 0 : value)) as TreeNode;
  if (tree['error']) throw new Error(String(tree['error_message'] ?? 'cannot parse the query'));
  return nodes(tree['statements']) as SerializedStatement[];
}

/** Parse one SELECT: its SELECT_NODE. */
export async function parseSelect(engine: Engine, sql: string): Promise<TreeNode> {
  const statements = await serializeSql(engine, sql);
  if (statements.length !== 1) throw new Error('expected exactly one SELECT statement');
  return statements[0]!.node;
}

/** The SELECT_NODE of one SELECT, or undefined when DuckDB cannot serialise it (not a SELECT, a syntax error). */
export async function trySelect(engine: Engine, sql: string): Promise<TreeNode | undefined> {
  try {
    const statements = await serializeSql(engine, sql);
    return statements.length === 1 ? statements[0]!.node : undefined;
  } catch {
    return undefined;
  }
}

/** Turn a (possibly edited) SELECT tree back into SQL text with DuckDB's own deparser. */
export async function deparse(engine: Engine, node: TreeNode): Promise<string> {
  const doc = { error: false, statements: [{ node, named_param_map: [] }] };
  const [row] = await engine.all('SELECT json_deserialize_sql($1::JSON) AS sql', [JSON.stringify(doc)]);
  return String(row?.['sql']);
}

/** Deparse an expression node on its own. */
export async function expressionSql(engine: Engine, expr: TreeNode): Promise<string> {
  const select = await parseSelect(engine, 'SELECT 1');
  select['select_list'] = [expr];
  const sql = await deparse(engine, select);
  return sql.replace(/^SELECT\s+/i, '');
}

/** The FROM-clause node of a one-table SELECT over `sql` (to splice a subquery into another tree). */
export async function tableRefOf(engine: Engine, sql: string, alias: string): Promise<TreeNode> {
  const from = fromTable(await parseSelect(engine, `SELECT * FROM (${sql}) AS x`))!;
  from['alias'] = alias;
  return from;
}

/** Visit every object node, depth first; `visit` may return a replacement node (then its children are not visited). */
export function rewrite<T>(value: T, visit: (node: TreeNode) => TreeNode | undefined): T {
  if (Array.isArray(value)) return value.map((v: unknown) => rewrite(v, visit)) as T;
  if (!isNode(value)) return value;
  const replaced = visit(value);
  if (replaced) return replaced as T;
  const out: TreeNode = {};
  for (const [k, v] of Object.entries(value)) out[k] = rewrite(v, visit);
  return out as T;
}

/** Visit every object node, depth first. */
export function forEachNode(value: unknown, visit: (node: TreeNode) => void): void {
  if (Array.isArray(value)) {
    for (const v of value) forEachNode(v, visit);
    return;
  }
  if (!isNode(value)) return;
  visit(value);
  for (const v of Object.values(value)) forEachNode(v, visit);
}

export function isNode(value: unknown): value is TreeNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function nodes(value: unknown): TreeNode[] {
  return Array.isArray(value) ? value.filter(isNode) : [];
}

function node(value: unknown): TreeNode | undefined {
  return isNode(value) ? value : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

// ---- SELECT_NODE ----

export function selectList(select: TreeNode): TreeNode[] {
  return nodes(select['select_list']);
}

export function fromTable(select: TreeNode): TreeNode | undefined {
  return node(select['from_table']);
}

export function whereClause(select: TreeNode): TreeNode | undefined {
  return node(select['where_clause']);
}

export function groupExpressions(select: TreeNode): TreeNode[] {
  return nodes(select['group_expressions']);
}

export function groupSets(select: TreeNode): unknown[] {
  return Array.isArray(select['group_sets']) ? select['group_sets'] : [];
}

/** DISTINCT / ORDER BY / LIMIT modifiers of a query node. */
export function modifiers(select: TreeNode): TreeNode[] {
  return nodes(select['modifiers']);
}

/** The `DISTINCT ON (…)` expressions of a DISTINCT_MODIFIER. */
export function distinctOnTargets(modifier: TreeNode): TreeNode[] {
  return nodes(modifier['distinct_on_targets']);
}

/** The WITH entries of a query node (`{ key: name, value: … }`). */
export function cteEntries(select: TreeNode): TreeNode[] {
  return nodes(node(select['cte_map'])?.['map']);
}

// ---- table references ----

/** A BASE_TABLE reference: its name, alias as written ('' if none) and schema ('' if none). */
export function baseTable(ref: TreeNode): { readonly name: string; readonly alias: string; readonly schema: string } | undefined {
  if (ref['type'] !== 'BASE_TABLE' || typeof ref['table_name'] !== 'string') return undefined;
  return { name: ref['table_name'], alias: String(ref['alias'] ?? ''), schema: String(ref['schema_name'] ?? '') };
}

/** The name a BASE_TABLE is known by in its query: the alias, else the table name. */
export function tableAlias(ref: TreeNode): string {
  return String(ref['alias'] || ref['table_name']);
}

/** Columns renamed by position (`t AS x(a, b)`). */
export function columnNameAliases(ref: TreeNode): unknown[] {
  return Array.isArray(ref['column_name_alias']) ? ref['column_name_alias'] : [];
}

/** `USING (…)` columns of a JOIN. */
export function usingColumns(ref: TreeNode): string[] {
  return strings(ref['using_columns']);
}

export interface JoinRef {
  readonly left: TreeNode | undefined;
  readonly right: TreeNode | undefined;
  readonly condition: TreeNode | undefined;
  /** INNER, LEFT, RIGHT, OUTER (full), SEMI, ANTI, … */
  readonly joinType: string;
  /** REGULAR, CROSS, NATURAL, ASOF, POSITIONAL, … */
  readonly refType: string;
}

export function joinRef(ref: TreeNode): JoinRef | undefined {
  if (ref['type'] !== 'JOIN') return undefined;
  return {
    left: node(ref['left']),
    right: node(ref['right']),
    condition: node(ref['condition']),
    joinType: String(ref['join_type']),
    refType: String(ref['ref_type']),
  };
}

/** A TABLE_FUNCTION reference: the function's name (lower-cased), its arguments, its alias ('' if none). */
export function tableFunction(
  ref: TreeNode,
): { readonly name: string; readonly args: TreeNode[]; readonly alias: string; readonly call: TreeNode } | undefined {
  if (ref['type'] !== 'TABLE_FUNCTION') return undefined;
  const call = node(ref['function']) ?? {};
  return { name: String(call['function_name'] ?? '').toLowerCase(), args: nodes(call['children']), alias: String(ref['alias'] ?? ''), call };
}

/** The query node of a SUBQUERY table reference or expression. */
export function subqueryNode(ref: TreeNode): TreeNode | undefined {
  return node(node(ref['subquery'])?.['node']);
}

// ---- expressions ----

/** The name parts of a COLUMN_REF (`a.b` → ['a', 'b']), undefined for any other node. */
export function columnRef(expr: unknown): string[] | undefined {
  return isNode(expr) && expr['class'] === 'COLUMN_REF' ? strings(expr['column_names']) : undefined;
}

export interface FunctionCall {
  /** As written (DuckDB keeps its case; `count(*)` is `count_star`). */
  readonly name: string;
  readonly children: TreeNode[];
  readonly distinct: boolean;
  readonly filter: TreeNode | undefined;
  readonly orderBys: unknown[];
}

/** A FUNCTION node (a scalar or aggregate call, operators such as `+` included), undefined for any other node. */
export function functionCall(expr: unknown): FunctionCall | undefined {
  if (!isNode(expr) || expr['class'] !== 'FUNCTION') return undefined;
  const orders = node(expr['order_bys'])?.['orders'];
  return {
    name: String(expr['function_name']),
    children: nodes(expr['children']),
    distinct: Boolean(expr['distinct']),
    filter: node(expr['filter']),
    orderBys: Array.isArray(orders) ? orders : [],
  };
}

/** The PARTITION BY expressions of a WINDOW node. */
export function windowPartitions(expr: TreeNode): TreeNode[] {
  return nodes(expr['partitions']);
}

/** The operands of a CONJUNCTION_AND / CONJUNCTION_OR / operator node. */
export function children(expr: TreeNode): TreeNode[] {
  return nodes(expr['children']);
}

/** A COMPARISON node's sides. */
export function comparison(expr: TreeNode): { readonly left: TreeNode; readonly right: TreeNode } {
  return { left: node(expr['left']) ?? {}, right: node(expr['right']) ?? {} };
}

/** A BETWEEN node's operands. */
export function between(expr: TreeNode): { readonly input: TreeNode | undefined; readonly lower: TreeNode | undefined; readonly upper: TreeNode | undefined } {
  return { input: node(expr['input']), lower: node(expr['lower']), upper: node(expr['upper']) };
}

/** The top-level AND-ed conjuncts of a condition. */
export function conjuncts(expr: TreeNode | undefined | null): TreeNode[] {
  if (!expr) return [];
  if (expr['type'] === 'CONJUNCTION_AND') return children(expr).flatMap(conjuncts);
  return [expr];
}

// ---- building nodes ----

/** A COLUMN_REF node. */
export function columnRefNode(...names: string[]): TreeNode {
  return { class: 'COLUMN_REF', type: 'COLUMN_REF', alias: '', query_location: 0, column_names: names };
}

/** A BASE_TABLE reference node. */
export function baseTableNode(name: string, alias: string): TreeNode {
  return {
    type: 'BASE_TABLE',
    alias,
    sample: null,
    query_location: 0,
    schema_name: '',
    table_name: name,
    column_name_alias: [],
    catalog_name: '',
    at_clause: null,
  };
}
