import { internalError } from '../errors.js';
import type { QueryAnalysis } from '../job/analyze-query.js';
import type { Engine } from '../sql/engine.js';
import { createPlanContext } from './plan-context.js';
import { planAggregate } from './planners/aggregate.js';
import { planDedup } from './planners/dedup.js';
import { planIntervalJoin } from './planners/interval-join.js';
import { planJoinAggregate } from './planners/join-aggregate.js';
import { planRegularJoin } from './planners/regular-join.js';
import { planWindow } from './planners/window.js';
import type { Planner, SinkPlan, SinkSpec, SourceTimeInfo } from './planning-types.js';
import { fingerprintOf } from './state-fingerprint.js';
import { checkSupported } from './unsupported-checker.js';

export type { SinkPlan, SourceTimeInfo } from './planning-types.js';

/** The strategies, most specific first: the first that recognises the query's shape plans it. */
const PLANNERS: readonly Planner[] = [planWindow, planIntervalJoin, planRegularJoin, planDedup, planJoinAggregate, planAggregate];

/**
 * Decide how a sink's query runs: stateless (batch by batch), or through a stateful operator. Anything that
 * cannot run incrementally and correctly is refused first (src/stateful/unsupported-checker.ts), at start, with
 * the reason and what to do instead.
 */
export async function planSink(engine: Engine, sink: SinkSpec, analysis: QueryAnalysis, sources: readonly SourceTimeInfo[]): Promise<SinkPlan> {
  const ctx = await createPlanContext(engine, sink, analysis, sources);
  await checkSupported(ctx);
  if (ctx.tvfs.length === 0 && ctx.directRefs.length === 1 && analysis.stateful.length === 0)
    return { kind: 'stateless', source: ctx.byName.get(ctx.directRefs[0]!)!.name };
  for (const plan of PLANNERS) {
    const operator = await plan(ctx);
    if (operator) return { kind: 'stateful', operator, fingerprint: await fingerprintOf(ctx, operator) };
  }
  throw internalError(`sink '${sink.name}': no planner took the query`); // unreachable: planAggregate takes any query
}
