import type { Engine } from '../sql/engine.js';
import {
  baseTable,
  between,
  columnRef,
  columnRefNode,
  expressionSql,
  forEachNode,
  functionCall,
  joinRef,
  rewrite,
  tableAlias,
  type TreeNode,
} from '../sql/parse-tree.js';
import type { IntervalJoinSpec } from './interval-join-operator.js';
import type { IntervalJoinMatch, SourceTimeInfo } from './planning-types.js';

const FIX =
  "bound the join in event time: a JOIN b ON a.k = b.k AND b.ts BETWEEN a.ts - INTERVAL '5 minutes' AND a.ts + INTERVAL '5 minutes' (or join TUMBLE windows)";

/**
 * Find `a JOIN b ON … AND b.t BETWEEN a.t - INTERVAL x AND a.t + INTERVAL y` (inner or left outer). Any other
 * shape is 'unbounded': the caller runs it as a regular join (state kept forever) or refuses it. A bound that is
 * there but cannot work (wrong direction for a left join, no watermark) is 'refused' (the checker says why).
 */
export async function findIntervalJoin(
  engine: Engine,
  tree: TreeNode,
  sources: readonly SourceTimeInfo[],
  refs: readonly string[],
): Promise<IntervalJoinMatch> {
  const unbounded = (why: string): IntervalJoinMatch => ({ kind: 'unbounded', why });
  if (refs.length !== 2) return unbounded(`it joins ${refs.length} stream references (interval joins join two)`);
  let joinNode: TreeNode | undefined;
  forEachNode(tree, (n) => {
    if (n['type'] === 'JOIN' && !joinNode) joinNode = n;
  });
  const join = joinNode && joinRef(joinNode);
  const left = join?.left && baseTable(join.left);
  const right = join?.right && baseTable(join.right);
  if (!join || !left || !right) return unbounded('it is not a JOIN … ON of the two sources directly');
  const joinType = join.joinType;
  if (joinType !== 'INNER' && joinType !== 'LEFT') return unbounded(`it is a ${joinType} join`);
  const l = { source: left.name, alias: tableAlias(join.left!) };
  const r = { source: right.name, alias: tableAlias(join.right!) };
  let bound: TreeNode | undefined;
  forEachNode(join.condition, (n) => {
    if (n['class'] === 'BETWEEN') bound = n;
  });
  if (!bound) return unbounded('its ON has no BETWEEN on event time');
  const col = (e: unknown): { alias: string; column: string } | undefined => {
    const names = columnRef(e);
    return names?.length === 2 ? { alias: names[0]!, column: names[1]! } : undefined;
  };
  const offset = async (e: unknown, op: string): Promise<{ ref: { alias: string; column: string }; us: bigint } | undefined> => {
    const call = functionCall(e);
    if (call?.name !== op) return undefined;
    const [a, b] = call.children;
    const ref = col(a);
    if (!ref || !b) return undefined;
    const sql = await expressionSql(engine, b);
    // Not an interval (BETWEEN over prices, say): no time bound, rather than an error.
    const rows = await engine.all(`SELECT epoch_us(TIMESTAMP '1970-01-01' + (${sql})::INTERVAL)::BIGINT AS us`).catch(() => undefined);
    const us = rows?.[0]?.['us'];
    return us === null || us === undefined ? undefined : { ref, us: BigInt(String(us)) };
  };
  const operands = between(bound);
  const input = col(operands.input);
  const lower = await offset(operands.lower, '-');
  const upper = await offset(operands.upper, '+');
  if (!input || !lower || !upper || lower.ref.alias !== upper.ref.alias || lower.ref.column !== upper.ref.column) {
    return unbounded('its BETWEEN is not <b>.<time> BETWEEN <a>.<time> - INTERVAL … AND <a>.<time> + INTERVAL …');
  }
  // Normalise so that `right` is the side inside BETWEEN.
  const inputIsRight = input.alias.toLowerCase() === r.alias.toLowerCase();
  const boundIsLeft = lower.ref.alias.toLowerCase() === l.alias.toLowerCase();
  if (inputIsRight !== boundIsLeft) return unbounded('its BETWEEN does not compare the time of one stream with the time of the other');
  const [a, b] = inputIsRight ? [l, r] : [r, l];
  if (!inputIsRight && joinType === 'LEFT')
    return {
      kind: 'refused',
      why: 'for a left outer interval join write the bound as <right>.<time> BETWEEN <left>.<time> - … AND <left>.<time> + …',
      fix: FIX,
    };
  for (const s of [a, b]) {
    if (!sources.find((x) => x.name.toLowerCase() === s.source.toLowerCase())?.eventTimeSql) {
      return {
        kind: 'refused',
        why: `a stream–stream join needs a watermark on source '${s.source}'`,
        fix: `add event_time and watermark options to CREATE SOURCE ${s.source}`,
      };
    }
  }
  const innerTree = rewrite(tree, (n) => (n === joinNode ? { ...n, join_type: 'INNER' } : undefined));
  const identity = (name: string) => columnRefNode(a.alias, name);
  const matchedTree: TreeNode = {
    ...innerTree,
    select_list: ['_topic', '_partition', '_offset'].map(identity),
    group_expressions: [],
    group_sets: [],
    aggregate_handling: 'STANDARD_HANDLING',
    having: null,
    qualify: null,
    modifiers: [{ type: 'DISTINCT_MODIFIER', distinct_on_targets: [] }],
  };
  const spec: IntervalJoinSpec = {
    left: { ...a, timeColumn: (inputIsRight ? lower.ref : input).column },
    right: { ...b, timeColumn: (inputIsRight ? input : lower.ref).column },
    lowerUs: lower.us,
    upperUs: upper.us,
    joinType: joinType as 'INNER' | 'LEFT',
    innerTree,
    matchedTree,
  };
  return { kind: 'bounded', spec };
}
