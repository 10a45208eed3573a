import { columnNameAliases, columnRef, comparison, conjuncts, forEachNode, fromTable, joinRef, subqueryNode, type TreeNode } from '../sql/parse-tree.js';
import type { PanePlan } from './window-panes.js';
import type { WindowTvf } from './window-tvf.js';

/**
 * Raw rows of a tumbling window that can never be emitted: the query joins them (INNER) with the window's running
 * max (min) of a column from pane state, on the same window and keys, by `row.x = m` or `row.x >= m` (`<=` for
 * min). A row whose x is below its window's current max can never equal (or reach) the final max, which only grows:
 * it is dropped from state. The rows of an INNER join that fail a conjunct are in no output row, whatever the rest
 * of the query does with the join.
 */
export interface PruneRule {
  /** The raw TVF (its source's rows are pruned). */
  readonly tvf: number;
  /** The pane state holding the window's running aggregate. */
  readonly spec: number;
  /** `__p<i>` of that state, and whether it is a max or a min. */
  readonly partial: number;
  readonly fn: 'max' | 'min';
  /** The row column compared with it. */
  readonly column: string;
  /** Pane key `__k<i>` equal to row column `column`, for every row key of the state. */
  readonly keys: readonly { readonly index: number; readonly column: string }[];
}

const FLIP: Record<string, string> = {
  COMPARE_EQUAL: 'COMPARE_EQUAL',
  COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO',
  COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO',
};

export function findPruneRules(tree: TreeNode, tvfs: readonly WindowTvf[], panes: PanePlan): PruneRule[] {
  const rules: PruneRule[] = [];
  const subselectOf = new Map<TreeNode, number>();
  for (const [i] of panes.uses) {
    forEachNode(tree, (n) => {
      if (n['type'] === 'SELECT_NODE' && fromTable(n) === tvfs[i]!.node) subselectOf.set(n, i);
    });
  }
  forEachNode(tree, (n) => {
    const j = joinRef(n);
    if (!j || j.joinType !== 'INNER' || j.refType !== 'REGULAR' || !j.left || !j.right) return;
    const sides: [TreeNode, TreeNode][] = [
      [j.left, j.right],
      [j.right, j.left],
    ];
    for (const [mine, other] of sides) {
      const r = tvfs.findIndex((t) => t.node === mine);
      if (r < 0 || panes.uses.has(r) || tvfs[r]!.kind !== 'tumble' || columnNameAliases(mine).length > 0) continue;
      // Rows of the source are kept in one buffer: prune only when this is its only raw reference.
      if (tvfs.some((t, i) => i !== r && !panes.uses.has(i) && t.source === tvfs[r]!.source)) continue;
      const sub = other['type'] === 'SUBQUERY' ? subqueryNode(other) : undefined;
      const a = sub ? subselectOf.get(sub) : undefined;
      if (a === undefined || !other['alias'] || tvfs[a]!.source !== tvfs[r]!.source) continue;
      const rule = ruleFor(j.condition, tvfs[r]!.alias.toLowerCase(), String(other['alias']).toLowerCase(), r, panes, a);
      if (rule) rules.push(rule);
    }
  });
  return rules;
}

function ruleFor(condition: TreeNode | undefined, rowAlias: string, aggAlias: string, tvf: number, panes: PanePlan, aggTvf: number): PruneRule | undefined {
  const use = panes.uses.get(aggTvf)!;
  const spec = panes.specs[use.spec]!;
  // Conjuncts as [op, row column, agg output], oriented row-side first.
  const pairs: [string, string, string][] = [];
  for (const c of conjuncts(condition)) {
    if (c['class'] !== 'COMPARISON' || !(String(c['type']) in FLIP)) continue;
    const sides = comparison(c);
    const l = qualified(sides.left);
    const r = qualified(sides.right);
    if (l?.[0] === rowAlias && r?.[0] === aggAlias) pairs.push([String(c['type']), l[1], r[1]]);
    if (r?.[0] === rowAlias && l?.[0] === aggAlias) pairs.push([FLIP[String(c['type'])]!, r[1], l[1]]);
  }
  const equal = pairs.filter(([op]) => op === 'COMPARE_EQUAL');
  const sameWindow = equal.some(([, row, out]) => {
    const o = use.outputs.get(out);
    return (row === 'window_start' && o?.kind === 'ws') || (row === 'window_end' && o?.kind === 'we');
  });
  if (!sameWindow) return undefined;
  const keys: { index: number; column: string }[] = [];
  for (let k = 0; k < spec.keySql.length; k++) {
    const match = equal.find(([, row, out]) => {
      const o = use.outputs.get(out);
      return o?.kind === 'key' && o.index === k && o.column?.toLowerCase() === row;
    });
    if (!match) return undefined;
    keys.push({ index: k, column: match[1] });
  }
  for (const [op, row, out] of pairs) {
    const o = use.outputs.get(out);
    if (o?.kind !== 'partial') continue;
    const agg = use.aggregates[o.index]!;
    if (agg.argColumn?.toLowerCase() !== row || (agg.fn !== 'max' && agg.fn !== 'min')) continue;
    const reaches = op === 'COMPARE_EQUAL' || op === (agg.fn === 'max' ? 'COMPARE_GREATERTHANOREQUALTO' : 'COMPARE_LESSTHANOREQUALTO');
    if (reaches) return { tvf, spec: use.spec, partial: o.index, fn: agg.fn, column: row, keys };
  }
  return undefined;
}

/** `alias.column` as lower-case [alias, column]. */
function qualified(x: TreeNode): [string, string] | undefined {
  const names = columnRef(x);
  return names?.length === 2 ? [names[0]!.toLowerCase(), names[1]!.toLowerCase()] : undefined;
}
