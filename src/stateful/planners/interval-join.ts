import type { TreeNode } from '../../sql/parse-tree.js';
import { IntervalJoinOperator, type StreamTemplate } from '../interval-join-operator.js';
import type { PlanContext, Planner } from '../planning-types.js';
import { replaceIdent, replaceStreams } from '../stream-refs.js';

/** A stream–stream join without aggregation whose ON bounds one side's event time around the other's. */
export const planIntervalJoin: Planner = async (ctx) => {
  if (ctx.directRefs.length < 2 || ctx.analysis.stateful.length > 0) return undefined;
  const match = await ctx.intervalJoin();
  if (match.kind !== 'bounded') return undefined;
  const join = match.spec;
  const templates = { full: await templateOf(ctx, ctx.tree), inner: await templateOf(ctx, join.innerTree), matched: await templateOf(ctx, join.matchedTree) };
  return new IntervalJoinOperator(ctx.sink.name, join, templates);
};

async function templateOf(ctx: PlanContext, tree: TreeNode): Promise<StreamTemplate> {
  const { sql, placeholders } = await replaceStreams(ctx.engine, tree, ctx.streamNames);
  return (relation) => placeholders.reduce((s, p) => replaceIdent(s, p.token, relation(p.source)), sql);
}
