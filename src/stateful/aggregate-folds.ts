import { functionCall, type TreeNode } from '../sql/parse-tree.js';

/** How an aggregate folds: the aggregate of some rows = `combine` over the `partial`s of any split of them. */
export interface Fold {
  readonly partial: (arg: string) => string;
  readonly combine: (col: string) => string;
}

/**
 * Aggregates that fold exactly, whatever the order and the split. `sum` over floating-point values can change in its
 * last bits with the order of additions: callers that must be exact check its argument's type (window-panes.ts).
 * avg is left out (a division of such sums).
 */
const FOLDS: Record<string, Fold> = {
  max: { partial: (a) => `max(${a})`, combine: (c) => `max(${c})` },
  min: { partial: (a) => `min(${a})`, combine: (c) => `min(${c})` },
  sum: { partial: (a) => `sum(${a})`, combine: (c) => `sum(${c})` },
  count: { partial: (a) => `count(${a})`, combine: (c) => `sum(${c})::BIGINT` },
  count_star: { partial: () => 'count(*)', combine: (c) => `sum(${c})::BIGINT` },
};

/** An aggregate call that folds: its name, fold, and argument (none for count(*)). */
export interface FoldingCall {
  readonly name: string;
  readonly fold: Fold;
  readonly arg: TreeNode | undefined;
}

/**
 * What a parse-tree node is to a query folded from partials: 'other' when it is no aggregate call (`aggregates`:
 * the aggregate function names), its fold when it is one that folds, undefined when it is an aggregate that does
 * not (another function, DISTINCT, FILTER, ORDER BY, more than one argument).
 */
export function foldingCall(node: TreeNode, aggregates: ReadonlySet<string>): FoldingCall | 'other' | undefined {
  const call = functionCall(node);
  if (!call) return 'other';
  const name = call.name.toLowerCase();
  if (!aggregates.has(name) && name !== 'count_star') return 'other';
  const fold = FOLDS[name];
  const children = call.children;
  const ordered = call.orderBys.length > 0;
  if (!fold || call.distinct || call.filter || ordered || children.length > 1 || (name !== 'count_star' && children.length !== 1)) return undefined;
  return { name, fold, arg: children[0] };
}
