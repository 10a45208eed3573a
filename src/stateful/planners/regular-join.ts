import { DeltaJoin } from '../delta-join.js';
import { expiryOf } from '../join-expiry.js';
import type { Planner } from '../planning-types.js';
import { RegularJoinOperator } from '../regular-join-operator.js';
import { referencedColumns } from '../stream-refs.js';
import { streamsOf } from './streams-of.js';

/**
 * A stream–stream inner join without aggregation and without an interval bound (tried after planIntervalJoin):
 * RegularJoinOperator, its state bounded only by event-time conjuncts, if any.
 */
export const planRegularJoin: Planner = async (ctx) => {
  if (ctx.directRefs.length < 2 || ctx.analysis.stateful.length > 0) return undefined;
  const { sql, refs } = await ctx.streamRefs();
  const join = new DeltaJoin(ctx.sink.name, sql, refs, referencedColumns(ctx.tree), await expiryOf(ctx.engine, refs, ctx.sources));
  return new RegularJoinOperator(ctx.sink.name, join, streamsOf(refs, ctx.sources));
};
