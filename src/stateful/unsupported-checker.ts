import { forEachNode, groupExpressions, windowPartitions } from '../sql/parse-tree.js';
import { regularJoinRefusal } from './join-linearity.js';
import type { PlanContext } from './planning-types.js';
import { distinctOnTargets, isWindowColumn } from './query-shape.js';

/*
 * Every refusal of stateful planning, in one place (as Spark's UnsupportedOperationChecker): a query that cannot
 * run incrementally and correctly is refused at start, with the reason and what to do instead. Checked in the
 * order below, so a query with several problems always gets the same first one; once the checks pass, the
 * planners (src/stateful/planners/) can build an operator without refusing anything.
 */

/** Throw the first reason the sink's query cannot be run as a stream, if there is one. */
export async function checkSupported(ctx: PlanContext): Promise<void> {
  const { analysis, refuse } = ctx;
  if (analysis.stateful.includes('LIMIT'))
    throw refuse(
      'LIMIT over a stream has no streaming meaning (which rows are "first" keeps changing)',
      'drop the LIMIT, or keep the top N per window: ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY …) <= N',
    );
  if (ctx.tvfs.length > 0) return checkWindowed(ctx);
  if (ctx.directRefs.length === 0) throw refuse('the query reads no source', `select FROM one of the job's sources: ${[...ctx.streamNames].join(', ')}`);
  const stateless = analysis.stateful.length === 0;
  if (ctx.directRefs.length > 1 && stateless) return checkJoin(ctx);
  if (ctx.directRefs.length === 1 && stateless) {
    if (ctx.sink.outputMode && ctx.sink.outputMode !== 'append')
      throw refuse(
        `output_mode '${ctx.sink.outputMode}' only applies to aggregations; this query is stateless`,
        'remove output_mode (stateless queries append)',
      );
    return;
  }
  if (ctx.directRefs.length === 1 && distinctOnTargets(ctx.tree).length > 0 && ctx.onlyDistinct) return checkDedup(ctx);
  checkAggregate(ctx);
}

/** Queries over TUMBLE / HOP / SESSION windows. */
function checkWindowed(ctx: PlanContext): void {
  const { tvfs, refuse } = ctx;
  if (ctx.directRefs.length > 0)
    throw refuse(`reads ${ctx.directRefs.join(', ')} both through a window and directly`, 'read every stream of a windowed query through TUMBLE/HOP/SESSION');
  const [first] = tvfs;
  if (tvfs.some((t) => t.kind !== first!.kind || t.sizeUs !== first!.sizeUs || t.slideUs !== first!.slideUs)) {
    throw refuse('a window join needs both sides windowed identically (same function, size and slide)', 'use the same TUMBLE/HOP arguments on both sides');
  }
  checkWindowedShape(ctx);
  const mode = ctx.sink.outputMode ?? 'append';
  const isJoin = tvfs.length > 1;
  if (isJoin && mode !== 'append') throw refuse(`a window join supports output_mode = 'append' only (got '${mode}')`, "use output_mode = 'append'");
  if (first!.kind === 'session' && mode === 'update')
    throw refuse("session windows support output_mode 'append' or 'complete' (a session's bounds move as rows arrive)", "use output_mode = 'append'");
  if (isJoin && first!.kind === 'session') throw refuse('joins of session windows are not supported', 'join tumbling or hopping windows');
  if (mode !== 'complete') {
    for (const t of tvfs) {
      if (!ctx.byName.get(t.source.toLowerCase())?.eventTimeSql) {
        throw refuse(
          `output_mode '${mode}' on a window needs a watermark on source '${t.source}': without one no window ever closes and state grows forever`,
          `add event_time = '<column>' and watermark = '<delay>' to CREATE SOURCE ${t.source}`,
        );
      }
    }
  }
  if (mode === 'update' && ctx.keys.length === 0)
    throw refuse("output_mode 'update' needs the columns that identify a result row", "GROUP BY them and select them, or add key = 'col1, col2' to the sink");
}

/** GROUP BY must group by the window, and window functions must partition by it: a row's result depends on its window only. */
function checkWindowedShape({ tree, refuse }: PlanContext): void {
  forEachNode(tree, (n) => {
    const groups = groupExpressions(n);
    if (groups.length > 0 && !groups.some(isWindowColumn)) {
      throw refuse(
        'a windowed GROUP BY must include window_start or window_end (otherwise groups span windows and never close)',
        'add window_start, window_end to the GROUP BY and the SELECT list',
      );
    }
    if (n['class'] === 'WINDOW' && !windowPartitions(n).some(isWindowColumn)) {
      throw refuse(
        `window function ${String(n['function_name'])}() must be partitioned by window_start or window_end`,
        'write OVER (PARTITION BY window_start, window_end ORDER BY …)',
      );
    }
  });
}

/**
 * A stream–stream join without aggregation, in append mode: an interval join when the ON bounds one side's event
 * time around the other's (state evicted by the watermark), else a regular inner join keeping all rows.
 */
async function checkJoin(ctx: PlanContext): Promise<void> {
  const { refuse } = ctx;
  const mode = ctx.sink.outputMode ?? 'append';
  if (mode !== 'append') {
    throw refuse(
      `a stream–stream join without aggregation supports output_mode = 'append' only (got '${mode}'): its rows are final once emitted`,
      "use output_mode = 'append' (or aggregate the joined rows with GROUP BY for update/complete)",
    );
  }
  const match = await ctx.intervalJoin();
  if (match.kind === 'refused') throw refuse(match.why, match.fix);
  if (match.kind === 'bounded') return;
  const refusal = regularJoinRefusal(ctx.tree, ctx.streamNames);
  if (refusal) throw refuse(`${refusal.why} (no interval bound: ${match.why})`, refusal.fix);
}

/** `DISTINCT ON (…)` over one stream. */
function checkDedup(ctx: PlanContext): void {
  const source = ctx.byName.get(ctx.directRefs[0]!)!;
  if (!source.eventTimeSql) {
    throw ctx.refuse(
      `DISTINCT ON over a stream needs a watermark on source '${source.name}' to know when a key's first row is final`,
      `add event_time and watermark options to CREATE SOURCE ${source.name}`,
    );
  }
  if (ctx.sink.outputMode && ctx.sink.outputMode !== 'append') throw ctx.refuse(`deduplication supports output_mode = 'append' only`, 'remove output_mode');
}

/** Aggregations, DISTINCT and window functions over the whole stream (one stream or a stream–stream join). */
function checkAggregate(ctx: PlanContext): void {
  const { analysis, refuse } = ctx;
  const mode = ctx.aggregateMode;
  if (!mode || (mode === 'append' && !ctx.onlyDistinct)) {
    throw refuse(
      `${analysis.stateful.join(', ')} over the whole stream${ctx.directRefs.length > 1 ? ' (here over a stream–stream join)' : ''}: its result rows keep changing, so output_mode 'append' cannot emit them once and final`,
      "add output_mode = 'update' (changed rows each batch) or 'complete' (the whole result each batch) to the sink, or aggregate over windows with a watermark: FROM TUMBLE(src, ts, INTERVAL '1 minute') GROUP BY window_start, …",
    );
  }
  if (mode === 'append' && ctx.directRefs.length > 1) {
    // DISTINCT rows are final only if the join's rows are: an outer join's NULL-padded rows are not.
    const refusal = regularJoinRefusal(ctx.tree, ctx.streamNames);
    if (refusal) throw refuse(`DISTINCT in append mode over this join: ${refusal.why}`, `${refusal.fix}; or use output_mode = 'update' / 'complete'`);
  }
  if (mode === 'update' && ctx.keys.length === 0 && !ctx.onlyDistinct)
    throw refuse("output_mode 'update' needs the columns that identify a result row", "GROUP BY them and select them, or add key = 'col1, col2' to the sink");
}
