import type { Engine } from '../sql/engine.js';
import { foldingCall } from './aggregate-folds.js';
import { DeltaJoin, expiryOf } from './delta-join.js';
import { stateTable, type Exec, type OutputMode, type StatefulOperator } from './operator.js';
import type { SourceTimeInfo } from './plan-sink.js';
import { regularJoinRefusal } from './regular-join-operator.js';
import { deparse, expressionSql, forEachNode, rewrite, type TreeNode } from './sql-tree.js';
import { referencedColumns, replaceIdent, streamRefs } from './stream-refs.js';

const GROUPS = '__ds_groups';

export interface JoinAggregatePlan {
  readonly join: DeltaJoin;
  readonly groupColumns: readonly string[];
  readonly partials: readonly { readonly column: string; readonly partial: string; readonly combine: string }[];
  /** The whole query, with the grouped join replaced by a placeholder for the groups table. */
  readonly finalSql: string;
}

/**
 * Recognise `… FROM (SELECT g…, max/min/sum/count(…) FROM <inner join of two or more streams> WHERE … GROUP BY g…) …`
 * (the grouped join may also be the whole query): then the join runs incrementally (DeltaJoin: new joined rows
 * only, input rows dropped once event-time conjuncts put them out of reach) and the groups' aggregates are folded
 * in, so state is the open join inputs plus one row per group, not every input row. Undefined for any other
 * shape: the caller re-evaluates the query over all kept rows instead.
 */
export async function planJoinAggregate(engine: Engine, sink: string, tree: TreeNode, streams: ReadonlySet<string>, sources: readonly SourceTimeInfo[], aggregates: ReadonlySet<string>): Promise<JoinAggregatePlan | undefined> {
  const isStream = (n: TreeNode) => n['type'] === 'BASE_TABLE' && typeof n['table_name'] === 'string' && streams.has(n['table_name'].toLowerCase()) && !n['schema_name'];
  let total = 0;
  forEachNode(tree, (n) => {
    if (isStream(n)) total++;
  });
  const candidates: TreeNode[] = [];
  forEachNode(tree, (n) => {
    if (n['type'] !== 'SELECT_NODE' || ((n['group_expressions'] as unknown[] | undefined) ?? []).length === 0) return;
    let direct = 0;
    const walk = (t: TreeNode | null) => {
      if (!t) return;
      if (isStream(t)) direct++;
      if (t['type'] === 'JOIN') {
        walk(t['left'] as TreeNode);
        walk(t['right'] as TreeNode);
      }
    };
    walk(n['from_table'] as TreeNode);
    if (direct > 0) candidates.push(n);
  });
  const inner = candidates[0];
  if (candidates.length !== 1 || !inner || total < 2) return undefined;
  let direct = 0;
  forEachNode(inner['from_table'], (n) => {
    if (isStream(n)) direct++;
  });
  forEachNode(inner['where_clause'], (n) => {
    if (isStream(n)) direct = -1;
  });
  if (direct !== total) return undefined;
  if (inner['having'] || inner['qualify'] || inner['sample'] || (inner['modifiers'] as unknown[]).length > 0) return undefined;
  if (inner['aggregate_handling'] !== 'STANDARD_HANDLING' || ((inner['group_sets'] as unknown[] | undefined) ?? []).length > 1) return undefined;
  if (((inner['cte_map'] as { map?: unknown[] })?.map ?? []).length > 0) return undefined;
  if (regularJoinRefusal({ ...inner, select_list: [] }, streams)) return undefined;

  const groups = inner['group_expressions'] as TreeNode[];
  const aliases = new Set((inner['select_list'] as TreeNode[]).map((i) => String(i['alias'] ?? '').toLowerCase()).filter((a) => a));
  for (const g of groups) {
    let columns = 0;
    forEachNode(g, (n) => {
      if (n['class'] === 'COLUMN_REF') columns++;
    });
    const names = g['class'] === 'COLUMN_REF' ? (g['column_names'] as string[]) : [];
    if (columns === 0 || (names.length === 1 && aliases.has(names[0]!.toLowerCase()))) return undefined; // GROUP BY 1, or a select alias
  }
  const key = (n: unknown) => JSON.stringify(n, (k, v: unknown) => (k === 'alias' || k === 'query_location' ? undefined : v));
  const groupKeys = groups.map(key);
  const args: TreeNode[] = [];
  const partials: { column: string; partial: string; combine: string }[] = [];
  let foldable = true;
  const fold = (node: TreeNode): TreeNode | undefined => {
    const g = groupKeys.indexOf(key(node));
    if (g >= 0) return column(`__g${g}`);
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
    return column(`__p${i}`);
  };
  const items: TreeNode[] = [];
  for (const item of inner['select_list'] as TreeNode[]) {
    const folded = rewrite(item, fold) as TreeNode;
    let loose = false;
    forEachNode(folded, (n) => {
      if (n['class'] === 'COLUMN_REF' && !/^__[gp]\d+$/.test(String((n['column_names'] as string[])[0]))) loose = true;
    });
    if (!foldable || loose) return undefined;
    const alias = String(item['alias'] || '') || (item['class'] === 'COLUMN_REF' ? (item['column_names'] as string[]).at(-1)! : await expressionSql(engine, item));
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
    from_table: { type: 'BASE_TABLE', alias: 'g', sample: null, query_location: 0, schema_name: '', table_name: GROUPS, column_name_alias: [], catalog_name: '', at_clause: null },
    where_clause: null,
    group_expressions: [],
    group_sets: [],
  };
  const finalSql = await deparse(engine, rewrite(tree, (n) => (n === inner ? groupsNode : undefined)) as TreeNode);
  return { join, groupColumns: groups.map((_, j) => `__g${j}`), partials, finalSql };
}

function column(name: string): TreeNode {
  return { class: 'COLUMN_REF', type: 'COLUMN_REF', alias: '', query_location: 0, column_names: [name] };
}

/**
 * An aggregation over a stream–stream inner join, run incrementally (see planJoinAggregate): each batch the join's
 * new rows are grouped and folded into one state row per group, and the rest of the query is evaluated over the
 * groups; update mode emits the result rows that are new or changed, complete mode all of them. State: the join
 * inputs still in reach (all of them when no event-time conjunct bounds the join) and one row per group, forever.
 */
export class JoinAggregateOperator implements StatefulOperator {
  readonly storesWholeRows = false;
  readonly storesNamedColumnsOnly = false;
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description: string;
  private created = false;

  constructor(
    readonly sink: string,
    readonly mode: OutputMode,
    readonly streams: readonly string[],
    private readonly plan: JoinAggregatePlan,
    readonly keyColumns: readonly string[],
  ) {
    this.stateTables = [...plan.join.stateTables, stateTable('groups', sink), stateTable('prev', sink)];
    this.outputTable = stateTable('out', sink);
    this.description = `running aggregate ${mode} over a stream–stream join (${plan.join.bounded ? 'folded, inputs bounded by event time' : 'folded'})`;
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    const groups = stateTable('groups', this.sink);
    const prev = stateTable('prev', this.sink);
    let first = true;
    await this.plan.join.run(
      exec,
      async (term) => {
        await exec(first ? `CREATE OR REPLACE TEMP TABLE __ds_joined AS ${term}` : `INSERT INTO __ds_joined ${term}`);
        first = false;
      },
      async () => undefined,
    );
    const keys = this.plan.groupColumns.join(', ');
    const partials = this.plan.partials.map((p) => `${p.partial} AS ${p.column}`).join(', ');
    const combined = this.plan.partials.map((p) => `${p.combine} AS ${p.column}`).join(', ');
    await exec(`CREATE OR REPLACE TEMP TABLE __ds_partial AS SELECT ${keys}${partials ? `, ${partials}` : ''} FROM __ds_joined GROUP BY ${keys}`);
    const query = replaceIdent(this.plan.finalSql, GROUPS, groups);
    if (!this.created) {
      await exec(`CREATE TABLE IF NOT EXISTS ${groups} AS SELECT * FROM __ds_partial LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${prev} AS SELECT * FROM (${query}) LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${query}) LIMIT 0`);
      this.created = true;
    }
    // Only the groups the batch touched are rewritten (NULL keys are keys too: IS NOT DISTINCT FROM).
    const same = this.plan.groupColumns.map((k) => `g.${k} IS NOT DISTINCT FROM p.${k}`).join(' AND ');
    const touched = `SELECT g.* FROM ${groups} AS g SEMI JOIN __ds_partial AS p ON ${same}`;
    await exec(`CREATE OR REPLACE TEMP TABLE __ds_merged AS SELECT ${keys}${combined ? `, ${combined}` : ''} FROM (${touched} UNION ALL SELECT * FROM __ds_partial) GROUP BY ${keys}`);
    await exec(`DELETE FROM ${groups} AS g WHERE EXISTS (SELECT 1 FROM __ds_partial AS p WHERE ${same})`);
    await exec(`INSERT INTO ${groups} SELECT * FROM __ds_merged`);
    await exec(`CREATE OR REPLACE TEMP TABLE __ds_result AS ${query}`);
    await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
    const emit = this.mode === 'complete' ? 'SELECT * FROM __ds_result' : `SELECT * FROM __ds_result EXCEPT ALL SELECT * FROM ${prev}`;
    await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${emit})`);
    await exec(`DELETE FROM ${prev}`);
    await exec(`INSERT INTO ${prev} SELECT * FROM __ds_result`);
  }
}
