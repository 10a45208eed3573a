import { baseTableNode, deparse, rewrite, type TreeNode } from '../../sql/parse-tree.js';
import type { Planner } from '../planning-types.js';
import { replaceIdent } from '../stream-refs.js';
import { WindowOperator, type WindowPanes } from '../window-operator.js';
import { planPanes } from '../window-panes.js';
import { findPruneRules } from '../window-prune.js';

/**
 * A query over TUMBLE / HOP / SESSION windows (one, or a join of identically windowed ones): WindowOperator, with
 * per-pane partial aggregates where the windowed sub-selects allow them.
 */
export const planWindow: Planner = async (ctx) => {
  const { engine, tree, tvfs, byName } = ctx;
  if (tvfs.length === 0) return undefined;
  const mode = ctx.sink.outputMode ?? 'append';
  const named = tvfs.map((t) => ({ ...t, source: byName.get(t.source.toLowerCase())!.name }));
  const placeholders = tvfs.map((_, i) => `__ds_tvf_${i}`);
  const withPlaceholders = async (replace: ReadonlyMap<TreeNode, TreeNode>) =>
    deparse(
      engine,
      rewrite(tree, (node) => {
        const i = tvfs.findIndex((t) => t.node === node);
        return replace.get(node) ?? (i < 0 ? undefined : baseTableNode(placeholders[i]!, tvfs[i]!.alias));
      }),
    );
  const sql = await withPlaceholders(new Map());
  const template = (relation: (i: number) => string) => placeholders.reduce((s, p, i) => replaceIdent(s, p, relation(i)), sql);
  const panes = await planPanes(engine, tree, named, await ctx.aggregates(), (source) => byName.get(source.toLowerCase())?.schema);
  let paned: WindowPanes | undefined;
  if (panes) {
    const paneSql = await withPlaceholders(panes.replacements);
    const paneTemplate = (tvfRelation: (i: number) => string, aggRelation: (i: number) => string) =>
      tvfs.reduce(
        (s, _, i) => (panes.uses.has(i) ? replaceIdent(s, `__ds_agg_${i}`, aggRelation(i)) : replaceIdent(s, placeholders[i]!, tvfRelation(i))),
        paneSql,
      );
    paned = { plan: panes, template: paneTemplate, prune: findPruneRules(tree, named, panes) };
  }
  return new WindowOperator(ctx.sink.name, mode, named, template, ctx.keys, paned);
};
