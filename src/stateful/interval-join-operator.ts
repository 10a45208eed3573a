import { userError } from '../errors.js';
import type { Engine } from '../sql/engine.js';
import { BOUNDS, onTimeTable, stateTable, type Exec, type StatefulOperator } from './operator.js';
import { expressionSql, forEachNode, rewrite, type TreeNode } from './sql-tree.js';
import type { SourceTimeInfo } from './plan-sink.js';

export interface IntervalJoinSpec {
  readonly left: { readonly source: string; readonly alias: string; readonly timeColumn: string };
  readonly right: { readonly source: string; readonly alias: string; readonly timeColumn: string };
  /** right.t BETWEEN left.t - lowerUs AND left.t + upperUs */
  readonly lowerUs: bigint;
  readonly upperUs: bigint;
  readonly joinType: 'INNER' | 'LEFT';
  /** The query with the join made INNER (for matches). */
  readonly innerTree: TreeNode;
  /** The inner query reduced to the identities of the left rows it matches (for left outer joins). */
  readonly matchedTree: TreeNode;
}

/** SQL of a query with each stream replaced by the relation the caller gives for it. */
export type StreamTemplate = (relation: (source: string) => string) => string;

/** An interval join's bounds, or why the query has none (it may still run as a regular join). */
export type IntervalJoinMatch = { readonly kind: 'bounded'; readonly spec: IntervalJoinSpec } | { readonly kind: 'unbounded'; readonly why: string };

/**
 * Find `a JOIN b ON … AND b.t BETWEEN a.t - INTERVAL x AND a.t + INTERVAL y` (inner or left outer). Any other
 * shape is 'unbounded': the caller runs it as a regular join (state kept forever) or refuses it. A bound that is
 * there but cannot work (wrong direction for a left join, no watermark) is refused here.
 */
export async function findIntervalJoin(engine: Engine, tree: TreeNode, sinkName: string, sources: readonly SourceTimeInfo[], refs: readonly string[]): Promise<IntervalJoinMatch> {
  const refuse = (why: string) =>
    userError(`sink '${sinkName}': ${why}`, "bound the join in event time: a JOIN b ON a.k = b.k AND b.ts BETWEEN a.ts - INTERVAL '5 minutes' AND a.ts + INTERVAL '5 minutes' (or join TUMBLE windows)");
  const unbounded = (why: string): IntervalJoinMatch => ({ kind: 'unbounded', why });
  if (refs.length !== 2) return unbounded(`it joins ${refs.length} stream references (interval joins join two)`);
  let join: TreeNode | undefined;
  forEachNode(tree, (n) => {
    if (n['type'] === 'JOIN' && !join) join = n;
  });
  const left = join?.['left'] as TreeNode | undefined;
  const right = join?.['right'] as TreeNode | undefined;
  if (!join || left?.['type'] !== 'BASE_TABLE' || right?.['type'] !== 'BASE_TABLE') return unbounded('it is not a JOIN … ON of the two sources directly');
  const joinType = String(join['join_type']);
  if (joinType !== 'INNER' && joinType !== 'LEFT') return unbounded(`it is a ${joinType} join`);
  const side = (t: TreeNode) => ({ source: String(t['table_name']), alias: String(t['alias'] || t['table_name']) });
  const l = side(left);
  const r = side(right);
  let between: TreeNode | undefined;
  forEachNode(join['condition'], (n) => {
    if (n['class'] === 'BETWEEN') between = n;
  });
  if (!between) return unbounded('its ON has no BETWEEN on event time');
  const col = (e: unknown): { alias: string; column: string } | undefined => {
    const n = e as TreeNode;
    if (n?.['class'] !== 'COLUMN_REF') return undefined;
    const names = n['column_names'] as string[];
    return names.length === 2 ? { alias: names[0]!, column: names[1]! } : undefined;
  };
  const offset = async (e: unknown, op: string): Promise<{ ref: { alias: string; column: string }; us: bigint } | undefined> => {
    const n = e as TreeNode;
    if (n?.['class'] !== 'FUNCTION' || n['function_name'] !== op) return undefined;
    const [a, b] = n['children'] as TreeNode[];
    const ref = col(a);
    if (!ref || !b) return undefined;
    const sql = await expressionSql(engine, b);
    // Not an interval (BETWEEN over prices, say): no time bound, rather than an error.
    const rows = await engine.all(`SELECT epoch_us(TIMESTAMP '1970-01-01' + (${sql})::INTERVAL)::BIGINT AS us`).catch(() => undefined);
    const us = rows?.[0]?.['us'];
    return us === null || us === undefined ? undefined : { ref, us: BigInt(String(us)) };
  };
  const input = col(between['input']);
  const lower = await offset(between['lower'], '-');
  const upper = await offset(between['upper'], '+');
  if (!input || !lower || !upper || lower.ref.alias !== upper.ref.alias || lower.ref.column !== upper.ref.column) {
    return unbounded('its BETWEEN is not <b>.<time> BETWEEN <a>.<time> - INTERVAL … AND <a>.<time> + INTERVAL …');
  }
  // Normalise so that `right` is the side inside BETWEEN.
  const inputIsRight = input.alias.toLowerCase() === r.alias.toLowerCase();
  const boundIsLeft = lower.ref.alias.toLowerCase() === l.alias.toLowerCase();
  if (inputIsRight !== boundIsLeft) return unbounded('its BETWEEN does not compare the time of one stream with the time of the other');
  const [a, b] = inputIsRight ? [l, r] : [r, l];
  if (!inputIsRight && joinType === 'LEFT') throw refuse('for a left outer interval join write the bound as <right>.<time> BETWEEN <left>.<time> - … AND <left>.<time> + …');
  for (const s of [a, b]) {
    if (!sources.find((x) => x.name.toLowerCase() === s.source.toLowerCase())?.eventTimeSql) {
      throw userError(`sink '${sinkName}': a stream–stream join needs a watermark on source '${s.source}'`, `add event_time and watermark options to CREATE SOURCE ${s.source}`);
    }
  }
  const innerTree = rewrite(tree, (n) => (n === join ? { ...n, join_type: 'INNER' } : undefined)) as TreeNode;
  const identity = (name: string): TreeNode => ({ class: 'COLUMN_REF', type: 'COLUMN_REF', alias: '', query_location: 0, column_names: [a.alias, name] });
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

/**
 * Interval join: both sides' on-time rows are kept while a match can still arrive. Each batch emits exactly the
 * new matches (new left × all right, old left × new right), then drops rows the watermark has put out of reach;
 * for a left outer join, a left row that leaves without a match is emitted then with NULLs (final, once).
 */
export class IntervalJoinOperator implements StatefulOperator {
  readonly storesWholeRows = true;
  readonly storesNamedColumnsOnly = false;
  readonly mode = 'append' as const;
  readonly streams: readonly string[];
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly keyColumns: readonly string[] = [];
  readonly description: string;
  private created = false;

  constructor(
    readonly sink: string,
    private readonly spec: IntervalJoinSpec,
    private readonly templates: { readonly full: StreamTemplate; readonly inner: StreamTemplate; readonly matched: StreamTemplate },
  ) {
    this.streams = [spec.left.source, spec.right.source];
    this.stateTables = [stateTable('buf', sink, spec.left.source), stateTable('buf', sink, spec.right.source)];
    this.outputTable = stateTable('out', sink);
    this.description = `interval join (${spec.joinType.toLowerCase()})`;
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    const { left, right } = this.spec;
    const bufL = stateTable('buf', this.sink, left.source);
    const bufR = stateTable('buf', this.sink, right.source);
    const newL = onTimeTable(left.source);
    const newR = onTimeTable(right.source);
    const oldL = `(SELECT * EXCLUDE (__ds_matched) FROM ${bufL})`;
    const inner = this.templates.inner;
    const pick = (l: string, r: string) => (s: string) => (s.toLowerCase() === left.source.toLowerCase() ? l : r);
    if (!this.created) {
      await exec(`CREATE TABLE IF NOT EXISTS ${bufL} AS SELECT *, false AS __ds_matched FROM ${newL} LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${bufR} AS SELECT * FROM ${newR} LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${this.templates.full(pick(newL, newR))}) LIMIT 0`);
      this.created = true;
    }
    await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
    const allR = `(SELECT * FROM ${bufR} UNION ALL SELECT * FROM ${newR})`;
    await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${inner(pick(newL, allR))})`);
    await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${inner(pick(oldL, newR))})`);
    await exec(`INSERT INTO ${bufL} SELECT *, false FROM ${newL}`);
    await exec(`INSERT INTO ${bufR} SELECT * FROM ${newR}`);
    const hi = `(SELECT hi FROM ${BOUNDS})`;
    const lt = `${JSON.stringify(left.timeColumn)}`;
    const rt = `${JSON.stringify(right.timeColumn)}`;
    // Timestamp arithmetic, not epoch_us: epoch_us('infinity') is NULL, and the drain batch's watermark is infinity.
    const leftGone = `${lt} + to_microseconds(${this.spec.upperUs}) < ${hi}`;
    if (this.spec.joinType === 'LEFT') {
      // Which kept left rows have a partner now: matches found by the inner query above.
      await exec(`UPDATE ${bufL} SET __ds_matched = true WHERE NOT __ds_matched AND (_topic, _partition, _offset) IN (${this.templates.matched(pick(oldL, `(SELECT * FROM ${bufR})`))})`);
      const unmatched = `(SELECT * EXCLUDE (__ds_matched) FROM ${bufL} WHERE NOT __ds_matched AND ${leftGone})`;
      await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${this.templates.full(pick(unmatched, `(SELECT * FROM ${bufR} LIMIT 0)`))})`);
    }
    await exec(`DELETE FROM ${bufL} WHERE ${leftGone}`);
    await exec(`DELETE FROM ${bufR} WHERE ${rt} + to_microseconds(${this.spec.lowerUs}) < ${hi}`);
  }
}
