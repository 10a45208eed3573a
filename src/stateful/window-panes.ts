import { parseSchemaText } from '../source/schema.js';
import type { Engine } from '../sql/engine.js';
import {
  baseTableNode,
  columnNameAliases,
  columnRef,
  columnRefNode,
  cteEntries,
  expressionSql,
  forEachNode,
  fromTable,
  functionCall,
  groupExpressions,
  groupSets,
  modifiers,
  rewrite,
  selectList,
  whereClause,
  type TreeNode,
} from '../sql/parse-tree.js';
import type { WindowTvf } from './window-tvf.js';
import { foldingCall } from './aggregate-folds.js';

/** One kind of per-pane partial aggregate state: the same rows, keys and partials (sub-selects may share it). */
export interface PaneSpec {
  /** The TVF of the first sub-select using it: source, event time, size and slide. */
  readonly tvf: WindowTvf;
  /** The sub-select's WHERE, over source rows (applied before the partial aggregation). */
  readonly whereSql: string | undefined;
  /** Row-level GROUP BY expressions, stored as `__k<i>`. */
  readonly keySql: readonly string[];
  /** Partial aggregates, stored as `__p<i>`; `combine` folds a column of partials. */
  readonly partials: readonly { readonly partial: string; readonly combine: string }[];
}

/** An output column of a pane sub-select: a window bound, row key `index` (a plain `column`, if it is one), or partial `index`. */
export type PaneOutput = { kind: 'ws' | 'we' } | { kind: 'key'; index: number; column: string | undefined } | { kind: 'partial'; index: number };

/** A windowed aggregate sub-select computed from pane partials. */
export interface PaneUse {
  readonly spec: number;
  /** Its aggregates are partial i → its output uses `__p<i>`; for the prune rule (window-prune.ts). */
  readonly aggregates: readonly { readonly fn: string; readonly argColumn: string | undefined }[];
  /** Output column name (lower case) → what it is. */
  readonly outputs: ReadonlyMap<string, PaneOutput>;
}

export interface PanePlan {
  readonly specs: readonly PaneSpec[];
  /** TVF index → how its sub-select is computed from panes (TVFs not in the map keep raw rows). */
  readonly uses: ReadonlyMap<number, PaneUse>;
  /** Each pane sub-select, replaced by `SELECT <its items over __k/__p/__ws/__we> FROM __ds_agg_<tvf index>`. */
  readonly replacements: ReadonlyMap<TreeNode, TreeNode>;
}

const WINDOW = new Set(['window_start', 'window_end']);

/**
 * Find the sub-selects `SELECT <keys, count/min/max…, window_start, window_end> FROM TUMBLE|HOP(src, …) [WHERE <row
 * filter>] GROUP BY <keys>, window_start[, window_end]` of a windowed query. Their windows can be computed from one
 * partial aggregate per (keys, pane) (a pane: one slide of event time), instead of from the raw rows expanded into
 * size/slide windows each. Any other shape keeps raw rows (undefined when no sub-select qualifies).
 */
export async function planPanes(
  engine: Engine,
  tree: TreeNode,
  tvfs: readonly WindowTvf[],
  aggregates: ReadonlySet<string>,
  /** A source's declared columns (`schema` option), to type `sum` arguments; undefined: inferred, unknown. */
  schemaOf: (source: string) => string | undefined = () => undefined,
): Promise<PanePlan | undefined> {
  const specs: PaneSpec[] = [];
  const specKeys: string[] = [];
  const uses = new Map<number, PaneUse>();
  const replacements = new Map<TreeNode, TreeNode>();
  const parents = new Map<TreeNode, TreeNode>();
  forEachNode(tree, (n) => {
    const from = n['type'] === 'SELECT_NODE' ? fromTable(n) : undefined;
    if (from) parents.set(from, n);
  });
  for (const [i, t] of tvfs.entries()) {
    const select = parents.get(t.node);
    // Columns renamed by position (`AS t(a, b)`) are not the source's: partials are computed over source rows.
    if (t.kind === 'session' || !select || renamesColumns(t)) continue;
    const found = await paneSubselect(engine, select, t, aggregates, i);
    if (!found || !(await sumsExact(engine, found.spec, schemaOf(t.source)))) continue;
    const key = JSON.stringify([
      t.source,
      t.alias,
      t.timeSql,
      t.kind,
      String(t.sizeUs),
      String(t.slideUs),
      found.spec.whereSql,
      found.spec.keySql,
      found.spec.partials,
    ]);
    let spec = specKeys.indexOf(key);
    if (spec < 0) {
      spec = specs.push(found.spec) - 1;
      specKeys.push(key);
    }
    uses.set(i, { ...found.use, spec });
    replacements.set(select, found.replacement);
  }
  return uses.size > 0 ? { specs, uses, replacements } : undefined;
}

async function paneSubselect(
  engine: Engine,
  n: TreeNode,
  t: WindowTvf,
  aggregates: ReadonlySet<string>,
  tvfIndex: number,
): Promise<{ spec: PaneSpec; use: Omit<PaneUse, 'spec'>; replacement: TreeNode } | undefined> {
  if (n['having'] || n['qualify'] || n['sample'] || modifiers(n).length > 0) return undefined;
  if (n['aggregate_handling'] !== 'STANDARD_HANDLING' || groupSets(n).length > 1) return undefined;
  if (cteEntries(n).length > 0) return undefined;
  const where = whereClause(n);
  const rowLevel = (expr: TreeNode) => isRowLevel(expr, aggregates, t.alias);
  if (where && !rowLevel(where)) return undefined;

  const groups = groupExpressions(n);
  if (groups.length === 0) return undefined;
  const aliases = new Set(
    selectList(n)
      .map((i) => String(i['alias'] ?? '').toLowerCase())
      .filter((a) => a),
  );
  const keySql: string[] = [];
  const keyColumns: (string | undefined)[] = [];
  // Per GROUP BY expression: the column the pane relation gives it.
  const groupColumn: string[] = [];
  let windowGrouped = false;
  for (const g of groups) {
    const bound = windowBound(g);
    if (bound) {
      groupColumn.push(bound === 'window_start' ? '__ws' : '__we');
      windowGrouped = true;
      continue;
    }
    let columns = 0;
    forEachNode(g, (x) => {
      if (columnRef(x)) columns++;
    });
    const names = columnRef(g) ?? [];
    // GROUP BY 1, a select alias, or an expression over the window: keep raw rows.
    if (columns === 0 || (names.length === 1 && aliases.has(names[0]!.toLowerCase())) || !rowLevel(g)) return undefined;
    groupColumn.push(`__k${keySql.length}`);
    keyColumns.push(names.length > 0 ? names.at(-1) : undefined);
    keySql.push(await expressionSql(engine, g));
  }
  if (!windowGrouped) return undefined;

  const key = (x: unknown) => JSON.stringify(x, (k, v: unknown) => (k === 'alias' || k === 'query_location' ? undefined : v));
  const groupKeys = groups.map(key);
  const partials: { partial: string; combine: string }[] = [];
  const aggs: { fn: string; argColumn: string | undefined }[] = [];
  let foldable = true;
  const fold = async (node: TreeNode): Promise<TreeNode> => {
    const pending: Promise<void>[] = [];
    const out = rewrite(node, (x) => {
      const g = groupKeys.indexOf(key(x));
      if (g >= 0) return columnRefNode(groupColumn[g]!);
      if (x['class'] === 'WINDOW' || x['class'] === 'SUBQUERY') foldable = false;
      const call = foldingCall(x, aggregates);
      if (call === 'other') return undefined;
      if (!call || (call.arg && !rowLevel(call.arg))) {
        foldable = false;
        return undefined;
      }
      const { fold: f, arg, name } = call;
      const i = partials.length;
      partials.push({ partial: '', combine: f.combine(`__p${i}`) });
      aggs.push({ fn: name, argColumn: columnRef(arg)?.at(-1) });
      pending.push(
        (async () => {
          partials[i] = { partial: f.partial(arg ? await expressionSql(engine, arg) : ''), combine: f.combine(`__p${i}`) };
        })(),
      );
      return columnRefNode(`__p${i}`);
    });
    await Promise.all(pending);
    return out;
  };
  const items: TreeNode[] = [];
  const outputs = new Map<string, PaneOutput>();
  for (const item of selectList(n)) {
    const folded = await fold(item);
    let loose = false;
    forEachNode(folded, (x) => {
      const names = columnRef(x);
      if (names && !/^__(k\d+|p\d+|ws|we)$/.test(String(names[0]))) loose = true;
    });
    if (!foldable || loose) return undefined;
    const alias = String(item['alias'] || '') || (columnRef(item)?.at(-1) ?? (await expressionSql(engine, item)));
    items.push({ ...folded, alias });
    const foldedNames = columnRef(folded);
    if (foldedNames) {
      const c = String(foldedNames[0]);
      const m = /^__(k|p)(\d+)$/.exec(c);
      if (c === '__ws' || c === '__we') outputs.set(alias.toLowerCase(), { kind: c === '__ws' ? 'ws' : 'we' });
      else if (m?.[1] === 'k') outputs.set(alias.toLowerCase(), { kind: 'key', index: Number(m[2]), column: keyColumns[Number(m[2])] });
      else if (m) outputs.set(alias.toLowerCase(), { kind: 'partial', index: Number(m[2]) });
    }
  }
  const whereSql = where ? await expressionSql(engine, where) : undefined;
  const replacement: TreeNode = {
    ...n,
    select_list: items,
    from_table: baseTableNode(`__ds_agg_${tvfIndex}`, t.alias),
    where_clause: null,
    group_expressions: [],
    group_sets: [],
  };
  return { spec: { tvf: t, whereSql, keySql, partials }, use: { aggregates: aggs, outputs }, replacement };
}

/**
 * Every `sum` partial of the spec adds integers, decimals or intervals: typed over an empty row of the source's
 * declared columns (and the metadata columns) by DuckDB itself. No declared schema: not known, not exact.
 */
async function sumsExact(engine: Engine, spec: PaneSpec, schema: string | undefined): Promise<boolean> {
  const sums = spec.partials.filter((p) => p.partial.startsWith('sum('));
  if (sums.length === 0) return true;
  if (!schema) return false;
  let columns: string;
  try {
    columns = [...parseSchemaText(schema).map((c) => `NULL::${c.type} AS ${JSON.stringify(c.name)}`), ...METADATA].join(', ');
  } catch {
    return false;
  }
  try {
    const [row] = await engine.all(
      `SELECT ${sums.map((p, i) => `typeof(${p.partial}) AS t${i}`).join(', ')} FROM (SELECT ${columns}) AS ${JSON.stringify(spec.tvf.alias)}`,
    );
    return sums.every((_, i) => EXACT_SUM.test(String(row?.[`t${i}`])));
  } catch {
    return false;
  }
}

const METADATA = [
  'NULL::VARCHAR AS _topic',
  'NULL::INTEGER AS _partition',
  'NULL::BIGINT AS _offset',
  'NULL::TIMESTAMP AS _timestamp',
  'NULL::VARCHAR AS _key',
];
const EXACT_SUM = /^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|DECIMAL\(\d+,\s*\d+\)|INTERVAL)$/;

/**
 * An expression over a source row only: no window column, aggregate, window function, subquery, or column qualified
 * by another relation than the TVF's alias (a lateral reference to the outer query).
 */
function isRowLevel(expr: TreeNode, aggregates: ReadonlySet<string>, alias: string): boolean {
  let ok = true;
  forEachNode(expr, (x) => {
    if (windowBound(x) || x['class'] === 'WINDOW' || x['class'] === 'SUBQUERY') ok = false;
    const names = columnRef(x) ?? [];
    if (names.length > 1 && names[0]!.toLowerCase() !== alias.toLowerCase()) ok = false;
    const call = functionCall(x);
    if (call && (aggregates.has(call.name.toLowerCase()) || call.name === 'count_star')) ok = false;
  });
  return ok;
}

function renamesColumns(t: WindowTvf): boolean {
  return columnNameAliases(t.node).length > 0;
}

function windowBound(x: TreeNode): string | undefined {
  const names = columnRef(x);
  if (!names) return undefined;
  const last = String(names.at(-1)).toLowerCase();
  return WINDOW.has(last) ? last : undefined;
}
