import { userError } from '../errors.js';
import { aggregateFunctionNames, type QueryAnalysis } from '../job/analyze-query.js';
import type { Engine } from '../sql/engine.js';
import { parseSelect } from '../sql/parse-tree.js';
import { findIntervalJoin } from './interval-join-match.js';
import type { IntervalJoinMatch, PlanContext, SinkSpec, SourceTimeInfo } from './planning-types.js';
import { groupKeyColumns } from './query-shape.js';
import { streamRefs, type StreamRef } from './stream-refs.js';
import { findWindowTvfs } from './window-tvf.js';

/**
 * Parse a sink's query and gather what the checker and the planners read. The costlier facts (DuckDB's aggregate
 * names, the interval-join match, the stream placeholders) are computed on first use, once.
 */
export async function createPlanContext(engine: Engine, sink: SinkSpec, analysis: QueryAnalysis, sources: readonly SourceTimeInfo[]): Promise<PlanContext> {
  const byName = new Map(sources.map((s) => [s.name.toLowerCase(), s]));
  const streamNames = new Set(byName.keys());
  const tree = await parseSelect(engine, sink.query);
  const tvfs = await findWindowTvfs(engine, tree, streamNames, sink.name);
  const directRefs = analysis.relations.filter((r) => streamNames.has(r));
  const onlyDistinct = analysis.stateful.every((r) => r === 'DISTINCT');
  let aggregates: Promise<ReadonlySet<string>> | undefined;
  let intervalJoin: Promise<IntervalJoinMatch> | undefined;
  let refs: Promise<{ sql: string; refs: StreamRef[] }> | undefined;
  return {
    engine,
    sink,
    analysis,
    sources,
    byName,
    streamNames,
    tree,
    tvfs,
    directRefs,
    onlyDistinct,
    aggregateMode: sink.outputMode ?? (onlyDistinct ? 'append' : undefined),
    keys: sink.key ?? groupKeyColumns(tree),
    refuse: (why, fix) => userError(`sink '${sink.name}': ${why}`, fix),
    aggregates: () => (aggregates ??= aggregateFunctionNames(engine)),
    intervalJoin: () => (intervalJoin ??= findIntervalJoin(engine, tree, sources, directRefs)),
    streamRefs: () => (refs ??= streamRefs(engine, tree, streamNames)),
  };
}
