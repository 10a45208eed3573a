import type { Engine } from '../../sql/engine.js';
import {
  baseTableNode,
  columnRef,
  columnRefNode,
  cteEntries,
  deparse,
  expressionSql,
  forEachNode,
  fromTable,
  groupExpressions,
  groupSets,
  joinRef,
  modifiers,
  rewrite,
  selectList,
  whereClause,
  type TreeNode,
} from '../../sql/parse-tree.js';
import { foldingCall } from '../aggregate-folds.js';
import { DeltaJoin } from '../delta-join.js';
import { expiryOf } from '../join-expiry.js';
import { isStreamTable, regularJoinRefusal } from '../join-linearity.js';
import { GROUPS_PLACEHOLDER, JoinAggregateOperator, type JoinAggregatePlan } from '../join-aggregate-operator.js';
import type { Planner, SourceTimeInfo } from '../planning-types.js';
import { referencedColumns, streamRefs } from '../stream-refs.js';
import { streamsOf } from './streams-of.js';

/** An aggregation over a stream–stream inner join whose aggregates fold: JoinAggregateOperator. */
export const planJoinAggregate: Planner = async (ctx) => {
  const { refs } = await ctx.streamRefs();
  if (refs.length <= 1) return undefined;
  const folded = await matchJoinAggregate(ctx.engine, ctx.sink.name, ctx.tree, ctx.streamNames, ctx.sources, await ctx.aggregates());
  if (!folded) return undefined;
  return new JoinAggregateOperator(ctx.sink.name, ctx.aggregateMode!, streamsOf(refs, ctx.sources), folded, ctx.keys);
};

/**
 * Recognise `… FROM (SELECT g…, max/min/sum/count(…) FROM <inner join of two or more streams> WHERE … GROUP BY g…) …`
 * (the grouped join may also be the whole query): then the join runs incrementally (DeltaJoin: new joined rows
 * only, input rows dropped once event-time conjuncts put them out of reach) and the groups' aggregates are folded
 * in, so state is the open join inputs plus one row per group, not every input row. Undefined for any other
 * shape: the caller re-evaluates the query over all kept rows instead.
 */
async function matchJoinAggregate(
  engine: Engine,
  sink: string,
  tree: TreeNode,
  streams: ReadonlySet<string>,
  sources: readonly SourceTimeInfo[],
  aggregates: ReadonlySet<string>,
): Promise<JoinAggregatePlan | undefined> {
  const isStream = (n: TreeNode) => isStreamTable(n, streams);
  let total = 0;
  forEachNode(tree, (n) => {
    if (isStream(n)) total++;
  });
  const candidates: TreeNode[] = [];
  forEachNode(tree, (n) => {
    if (n['type'] !== 'SELECT_NODE' || groupExpressions(n).length === 0) return;
    let direct = 0;
    const walk = (t: TreeNode | undefined) => {
      if (!t) return;
      if (isStream(t)) direct++;
      const join = joinRef(t);
      if (join) {
        walk(join.left);
        walk(join.right);
      }
    };
    walk(fromTable(n));
    if (direct > 0) candidates.push(n);
  });
  const inner = candidates[0];
  if (candidates.length !== 1 || !inner || total < 2) return undefined;
  let direct = 0;
  forEachNode(fromTable(inner), (n) => {
    if (isStream(n)) direct++;
  });
  forEachNode(whereClause(inner), (n) => {
    if (isStream(n)) direct = -1;
  });
  if (direct !== total) return undefined;
  if (inner['having'] || inner['qualify'] || inner['sample'] || modifiers(inner).length > 0) return undefined;
  if (inner['aggregate_handling'] !== 'STANDARD_HANDLING' || groupSets(inner).length > 1) return undefined;
  if (cteEntries(inner).length > 0) return undefined;
  if (regularJoinRefusal({ ...inner, select_list: [] }, streams)) return undefined;

  const groups = groupExpressions(inner);
  const aliases = new Set(
    selectList(inner)
      .map((i) => String(i['alias'] ?? '').toLowerCase())
      .filter((a) => a),
  );
  for (const g of groups) {
    let columns = 0;
    forEachNode(g, (n) => {
      if (columnRef(n)) columns++;
    });
    const names = columnRef(g) ?? [];
    if (columns === 0 || (names.length === 1 && aliases.has(names[0]!.toLowerCase()))) return undefined; // GROUP BY 1, or a select alias
  }
  const key = (n: unknown) => JSON.stringify(n, (k, v: unknown) => (k === 'alias' || k === 'query_location' ? undefined : v));
  const groupKeys = groups.map(key);
  const args: TreeNode[] = [];
  const partials: { column: string; partial: string; combine: string }[] = [];
  let foldable = true;
  const fold = (node: TreeNode): TreeNode | undefined => {
    const g = groupKeys.indexOf(key(node));
    if (g >= 0) return columnRefNode(`__g${g}`);
    if (node['class'] === 'WINDOW' || node['class'] === 'SUBQUERY') foldable = false;
    const call = foldingCall(node, aggregates);
    if (call === 'other') return undefined;
    if (!call) {
      foldable = false;
      return undefined;
    }
    const i = partials.length;
    if (call.arg) args.push({ ...call.arg, alias: `__a${i}` });
    partials.push({ column: `__p${i}`, partial: call.fold.partial(call.arg ? `__a${i}` : ''), combine: call.fold.combine(`__p${i}`) });
    return columnRefNode(`__p${i}`);
  };
  const items: TreeNode[] = [];
  for (const item of selectList(inner)) {
    const folded = rewrite(item, fold);
    let loose = false;
    forEachNode(folded, (n) => {
      const names = columnRef(n);
      if (names && !/^__[gp]\d+$/.test(String(names[0]))) loose = true;
    });
    if (!foldable || loose) return undefined;
    const alias = String(item['alias'] || '') || (columnRef(item)?.at(-1) ?? (await expressionSql(engine, item)));
    items.push({ ...folded, alias });
  }

  const joinNode: TreeNode = {
    ...inner,
    select_list: [...groups.map((g, j) => ({ ...g, alias: `__g${j}` })), ...args],
    group_expressions: [],
    group_sets: [],
  };
  const { sql, refs } = await streamRefs(engine, joinNode, streams);
  const join = new DeltaJoin(sink, sql, refs, referencedColumns(joinNode), await expiryOf(engine, refs, sources));
  const groupsNode: TreeNode = {
    ...inner,
    select_list: items,
    from_table: baseTableNode(GROUPS_PLACEHOLDER, 'g'),
    where_clause: null,
    group_expressions: [],
    group_sets: [],
  };
  const finalSql = await deparse(
    engine,
    rewrite(tree, (n) => (n === inner ? groupsNode : undefined)),
  );
  return { join, groupColumns: groups.map((_, j) => `__g${j}`), partials, finalSql };
}
