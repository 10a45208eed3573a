import type { DeltaJoin } from './delta-join.js';
import { stateTable, type Exec, type OutputMode, type StatefulOperator } from './operator.js';
import { replaceIdent } from './stream-refs.js';

/** The placeholder table name for the groups in `JoinAggregatePlan.finalSql`. */
export const GROUPS_PLACEHOLDER = '__ds_groups';

export interface JoinAggregatePlan {
  readonly join: DeltaJoin;
  readonly groupColumns: readonly string[];
  readonly partials: readonly { readonly column: string; readonly partial: string; readonly combine: string }[];
  /** The whole query, with the grouped join replaced by a placeholder for the groups table. */
  readonly finalSql: string;
}

/**
 * An aggregation over a stream–stream inner join, run incrementally (see src/stateful/planners/join-aggregate.ts): each batch the join's
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
    const query = replaceIdent(this.plan.finalSql, GROUPS_PLACEHOLDER, groups);
    if (!this.created) {
      await exec(`CREATE TABLE IF NOT EXISTS ${groups} AS SELECT * FROM __ds_partial LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${prev} AS SELECT * FROM (${query}) LIMIT 0`);
      await exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${query}) LIMIT 0`);
      this.created = true;
    }
    // Only the groups the batch touched are rewritten (NULL keys are keys too: IS NOT DISTINCT FROM).
    const same = this.plan.groupColumns.map((k) => `g.${k} IS NOT DISTINCT FROM p.${k}`).join(' AND ');
    const touched = `SELECT g.* FROM ${groups} AS g SEMI JOIN __ds_partial AS p ON ${same}`;
    await exec(
      `CREATE OR REPLACE TEMP TABLE __ds_merged AS SELECT ${keys}${combined ? `, ${combined}` : ''} FROM (${touched} UNION ALL SELECT * FROM __ds_partial) GROUP BY ${keys}`,
    );
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
