import { userError } from '../errors.js';
import { aggregateFunctionNames, type QueryAnalysis } from '../job/analyze-query.js';
import type { Engine } from '../sql/engine.js';
import { AggregateOperator } from './aggregate-operator.js';
import type { OutputMode, StatefulOperator } from './operator.js';
import { deparse, expressionSql, forEachNode, parseSelect, rewrite, type TreeNode } from '../sql/parse-tree.js';
import { DedupOperator } from './dedup-operator.js';
import { WindowOperator, type WindowPanes } from './window-operator.js';
import { planPanes } from './window-panes.js';
import { findPruneRules } from './window-prune.js';
import { findWindowTvfs } from './window-tvf.js';
import { IntervalJoinOperator, findIntervalJoin, type StreamTemplate } from './interval-join-operator.js';
import { RegularJoinOperator, regularJoinRefusal } from './regular-join-operator.js';
import { referencedColumns, replaceIdent, streamRefs, type StreamRef } from './stream-refs.js';
import { DeltaJoin, expiryOf } from './delta-join.js';
import { JoinAggregateOperator, planJoinAggregate } from './join-aggregate-operator.js';

export interface SourceTimeInfo {
  readonly name: string;
  /** Event-time SQL expression; undefined when the source has no event_time. */
  readonly eventTimeSql: string | undefined;
  /** The source's watermark delay (ms). */
  readonly delayMs: number;
  /** The declared value columns (`schema = '…'`), undefined when inferred from the data. */
  readonly schema?: string | undefined;
}

export type SinkPlan = { readonly kind: 'stateless'; readonly source: string } | { readonly kind: 'stateful'; readonly operator: StatefulOperator };

const WINDOW_COLUMNS = new Set(['window_start', 'window_end']);

/**
 * Decide how a sink's query runs: stateless (batch by batch), or through a stateful operator. Anything that
 * cannot run incrementally and correctly is refused here, at start, with the reason and what to do instead.
 */
export async function planSink(
  engine: Engine,
  sink: { name: string; query: string; outputMode: OutputMode | undefined; key: readonly string[] | undefined },
  analysis: QueryAnalysis,
  sources: readonly SourceTimeInfo[],
): Promise<SinkPlan> {
  const names = new Map(sources.map((s) => [s.name.toLowerCase(), s]));
  const streamNames = new Set(names.keys());
  const tree = await parseSelect(engine, sink.query);
  const tvfs = await findWindowTvfs(engine, tree, streamNames, sink.name);
  const directRefs = analysis.relations.filter((r) => streamNames.has(r));
  const refuse = (why: string, fix: string) => userError(`sink '${sink.name}': ${why}`, fix);
  if (analysis.stateful.includes('LIMIT')) throw refuse('LIMIT over a stream has no streaming meaning (which rows are "first" keeps changing)', 'drop the LIMIT, or keep the top N per window: ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY …) <= N');

  if (tvfs.length > 0) {
    if (directRefs.length > 0) throw refuse(`reads ${directRefs.join(', ')} both through a window and directly`, 'read every stream of a windowed query through TUMBLE/HOP/SESSION');
    const [first] = tvfs;
    if (tvfs.some((t) => t.kind !== first!.kind || t.sizeUs !== first!.sizeUs || t.slideUs !== first!.slideUs)) {
      throw refuse('a window join needs both sides windowed identically (same function, size and slide)', 'use the same TUMBLE/HOP arguments on both sides');
    }
    checkWindowedShape(tree, refuse);
    const mode = sink.outputMode ?? 'append';
    const isJoin = tvfs.length > 1;
    if (isJoin && mode !== 'append') throw refuse(`a window join supports output_mode = 'append' only (got '${mode}')`, "use output_mode = 'append'");
    if (first!.kind === 'session' && mode === 'update') throw refuse("session windows support output_mode 'append' or 'complete' (a session's bounds move as rows arrive)", "use output_mode = 'append'");
    if (isJoin && first!.kind === 'session') throw refuse('joins of session windows are not supported', 'join tumbling or hopping windows');
    if (mode !== 'complete') {
      for (const t of tvfs) {
        if (!names.get(t.source.toLowerCase())?.eventTimeSql) {
          throw refuse(`output_mode '${mode}' on a window needs a watermark on source '${t.source}': without one no window ever closes and state grows forever`, `add event_time = '<column>' and watermark = '<delay>' to CREATE SOURCE ${t.source}`);
        }
      }
    }
    const named = tvfs.map((t) => ({ ...t, source: names.get(t.source.toLowerCase())!.name }));
    const placeholders = tvfs.map((_, i) => `__ds_tvf_${i}`);
    const withPlaceholders = async (replace: ReadonlyMap<TreeNode, TreeNode>) =>
      deparse(
        engine,
        rewrite(tree, (node) => {
          const i = tvfs.findIndex((t) => t.node === node);
          return replace.get(node) ?? (i < 0 ? undefined : baseTable(placeholders[i]!, tvfs[i]!.alias));
        }) as TreeNode,
      );
    const sql = await withPlaceholders(new Map());
    const keys = sink.key ?? groupKeyColumns(tree);
    if (mode === 'update' && keys.length === 0) throw refuse("output_mode 'update' needs the columns that identify a result row", "GROUP BY them and select them, or add key = 'col1, col2' to the sink");
    const template = (relation: (i: number) => string) => placeholders.reduce((s, p, i) => replaceIdent(s, p, relation(i)), sql);
    const panes = await planPanes(engine, tree, named, await aggregateFunctionNames(engine), (source) => names.get(source.toLowerCase())?.schema);
    let paned: WindowPanes | undefined;
    if (panes) {
      const paneSql = await withPlaceholders(panes.replacements);
      const paneTemplate = (tvfRelation: (i: number) => string, aggRelation: (i: number) => string) =>
        tvfs.reduce((s, _, i) => (panes.uses.has(i) ? replaceIdent(s, `__ds_agg_${i}`, aggRelation(i)) : replaceIdent(s, placeholders[i]!, tvfRelation(i))), paneSql);
      paned = { plan: panes, template: paneTemplate, prune: findPruneRules(tree, named, panes) };
    }
    return { kind: 'stateful', operator: new WindowOperator(sink.name, mode, named, template, keys, paned) };
  }

  if (directRefs.length === 0) throw refuse('the query reads no source', `select FROM one of the job's sources: ${[...streamNames].join(', ')}`);
  if (directRefs.length > 1 && analysis.stateful.length === 0) return planJoin(engine, sink, tree, sources, directRefs, streamNames, refuse);
  if (directRefs.length === 1) {
    const source = names.get(directRefs[0]!)!.name;
    if (analysis.stateful.length === 0) {
      if (sink.outputMode && sink.outputMode !== 'append') throw refuse(`output_mode '${sink.outputMode}' only applies to aggregations; this query is stateless`, "remove output_mode (stateless queries append)");
      return { kind: 'stateless', source };
    }
    const distinctOn = distinctOnTargets(tree);
    if (distinctOn.length > 0 && analysis.stateful.every((r) => r === 'DISTINCT')) {
      const info = names.get(source.toLowerCase())!;
      if (!info.eventTimeSql) {
        throw refuse(`DISTINCT ON over a stream needs a watermark on source '${source}' to know when a key's first row is final`, `add event_time and watermark options to CREATE SOURCE ${source}`);
      }
      if (sink.outputMode && sink.outputMode !== 'append') throw refuse(`deduplication supports output_mode = 'append' only`, 'remove output_mode');
      const keySql = await Promise.all(distinctOn.map((k) => expressionSql(engine, k)));
      const { sql, placeholders } = await replaceStreams(engine, tree, streamNames);
      const template = (relation: string) => placeholders.reduce((s, p) => replaceIdent(s, p.token, relation), sql);
      return { kind: 'stateful', operator: new DedupOperator(sink.name, source, keySql, info.eventTimeSql, info.delayMs, template, []) };
    }
  }
  const onlyDistinct = analysis.stateful.every((r) => r === 'DISTINCT');
  const mode = sink.outputMode ?? (onlyDistinct ? 'append' : undefined);
  if (!mode || (mode === 'append' && !onlyDistinct)) {
    throw refuse(
      `${analysis.stateful.join(', ')} over the whole stream${directRefs.length > 1 ? ' (here over a stream–stream join)' : ''}: its result rows keep changing, so output_mode 'append' cannot emit them once and final`,
      "add output_mode = 'update' (changed rows each batch) or 'complete' (the whole result each batch) to the sink, or aggregate over windows with a watermark: FROM TUMBLE(src, ts, INTERVAL '1 minute') GROUP BY window_start, …",
    );
  }
  if (mode === 'append' && directRefs.length > 1) {
    // DISTINCT rows are final only if the join's rows are: an outer join's NULL-padded rows are not.
    const refusal = regularJoinRefusal(tree, streamNames);
    if (refusal) throw refuse(`DISTINCT in append mode over this join: ${refusal.why}`, `${refusal.fix}; or use output_mode = 'update' / 'complete'`);
  }
  const { sql, refs } = await streamRefs(engine, tree, streamNames);
  const keys = sink.key ?? groupKeyColumns(tree);
  if (mode === 'update' && keys.length === 0 && !onlyDistinct) throw refuse("output_mode 'update' needs the columns that identify a result row", "GROUP BY them and select them, or add key = 'col1, col2' to the sink");
  if (refs.length > 1) {
    const folded = await planJoinAggregate(engine, sink.name, tree, streamNames, sources, await aggregateFunctionNames(engine));
    if (folded) return { kind: 'stateful', operator: new JoinAggregateOperator(sink.name, mode, streamsOf(refs, sources), folded, keys) };
  }
  const template = (relation: (source: string) => string) => refs.reduce((s, r) => replaceIdent(s, r.token, relation(r.source)), sql);
  return { kind: 'stateful', operator: new AggregateOperator(sink.name, mode, streamsOf(refs, sources), template, keys, referencedColumns(tree)) };
}

/** The sources the references read, each once, named as declared. */
function streamsOf(refs: readonly StreamRef[], sources: readonly SourceTimeInfo[]): string[] {
  return [...new Set(refs.map((r) => sources.find((s) => s.name.toLowerCase() === r.source.toLowerCase())!.name))];
}

/**
 * A stream–stream join without aggregation, in append mode: an interval join when the ON bounds one side's event
 * time around the other's (state evicted by the watermark), else a regular inner join keeping all rows.
 */
async function planJoin(
  engine: Engine,
  sink: { name: string; outputMode: OutputMode | undefined },
  tree: TreeNode,
  sources: readonly SourceTimeInfo[],
  directRefs: readonly string[],
  streamNames: ReadonlySet<string>,
  refuse: (why: string, fix: string) => Error,
): Promise<SinkPlan> {
  const mode = sink.outputMode ?? 'append';
  if (mode !== 'append') {
    throw refuse(`a stream–stream join without aggregation supports output_mode = 'append' only (got '${mode}'): its rows are final once emitted`, "use output_mode = 'append' (or aggregate the joined rows with GROUP BY for update/complete)");
  }
  const match = await findIntervalJoin(engine, tree, sink.name, sources, directRefs);
  if (match.kind === 'bounded') {
    const join = match.spec;
    const templateOf = async (t: TreeNode): Promise<StreamTemplate> => {
      const { sql, placeholders } = await replaceStreams(engine, t, streamNames);
      return (relation) => placeholders.reduce((s, p) => replaceIdent(s, p.token, relation(p.source)), sql);
    };
    const templates = { full: await templateOf(tree), inner: await templateOf(join.innerTree), matched: await templateOf(join.matchedTree) };
    return { kind: 'stateful', operator: new IntervalJoinOperator(sink.name, join, templates) };
  }
  const refusal = regularJoinRefusal(tree, streamNames);
  if (refusal) throw refuse(`${refusal.why} (no interval bound: ${match.why})`, refusal.fix);
  const { sql, refs } = await streamRefs(engine, tree, streamNames);
  const join = new DeltaJoin(sink.name, sql, refs, referencedColumns(tree), await expiryOf(engine, refs, sources));
  return { kind: 'stateful', operator: new RegularJoinOperator(sink.name, join, streamsOf(refs, sources)) };
}

/** The `DISTINCT ON (…)` expressions of the top SELECT, if it has them. */
function distinctOnTargets(tree: TreeNode): TreeNode[] {
  const modifiers = (tree['modifiers'] as TreeNode[] | undefined) ?? [];
  const distinct = modifiers.find((m) => m['type'] === 'DISTINCT_MODIFIER');
  return (distinct?.['distinct_on_targets'] as TreeNode[] | undefined) ?? [];
}

/** GROUP BY must group by the window, and window functions must partition by it: a row's result depends on its window only. */
function checkWindowedShape(tree: TreeNode, refuse: (why: string, fix: string) => Error): void {
  forEachNode(tree, (n) => {
    const groups = n['group_expressions'];
    if (Array.isArray(groups) && groups.length > 0 && !groups.some(isWindowColumn)) {
      throw refuse('a windowed GROUP BY must include window_start or window_end (otherwise groups span windows and never close)', 'add window_start, window_end to the GROUP BY and the SELECT list');
    }
    if (n['class'] === 'WINDOW' && !(n['partitions'] as unknown[]).some(isWindowColumn)) {
      throw refuse(`window function ${String(n['function_name'])}() must be partitioned by window_start or window_end`, 'write OVER (PARTITION BY window_start, window_end ORDER BY …)');
    }
  });
}

function isWindowColumn(expr: unknown): boolean {
  const node = expr as TreeNode;
  if (node?.['class'] !== 'COLUMN_REF') return false;
  const names = node['column_names'] as string[];
  return WINDOW_COLUMNS.has(names[names.length - 1]!.toLowerCase());
}

/** Output columns of the top SELECT that are plain GROUP BY columns: they identify a result row. */
function groupKeyColumns(tree: TreeNode): string[] {
  const groups = (tree['group_expressions'] as TreeNode[] | undefined) ?? [];
  const grouped = new Set(groups.filter((g) => g['class'] === 'COLUMN_REF').map((g) => ((g['column_names'] as string[]).at(-1) ?? '').toLowerCase()));
  const keys: string[] = [];
  for (const item of (tree['select_list'] as TreeNode[] | undefined) ?? []) {
    if (item['class'] !== 'COLUMN_REF') continue;
    const name = (item['column_names'] as string[]).at(-1)!;
    if (grouped.has(name.toLowerCase()) || tree['aggregate_handling'] === 'FORCE_AGGREGATES') keys.push(String(item['alias'] || name));
  }
  return keys;
}

/** Replace every BASE_TABLE reference to a stream by a placeholder table name (keeping the alias it had). */
async function replaceStreams(engine: Engine, tree: TreeNode, streams: ReadonlySet<string>): Promise<{ sql: string; placeholders: { token: string; source: string }[] }> {
  const placeholders: { token: string; source: string }[] = [];
  const edited = rewrite(tree, (node) => {
    if (node['type'] !== 'BASE_TABLE' || typeof node['table_name'] !== 'string') return undefined;
    const name = node['table_name'];
    if (!streams.has(name.toLowerCase()) || node['schema_name']) return undefined;
    const token = `__ds_src_${placeholders.length}`;
    placeholders.push({ token, source: name });
    return baseTable(token, String(node['alias'] || name));
  }) as TreeNode;
  return { sql: await deparse(engine, edited), placeholders };
}

function baseTable(name: string, alias: string): TreeNode {
  return { type: 'BASE_TABLE', alias, sample: null, query_location: 0, schema_name: '', table_name: name, column_name_alias: [], catalog_name: '', at_clause: null };
}
