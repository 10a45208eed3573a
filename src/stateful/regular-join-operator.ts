import type { DeltaJoin } from './delta-join.js';
import { stateTable, type Exec, type StatefulOperator } from './operator.js';

/**
 * A regular stream–stream inner join, in append mode, as Spark and Flink run it: each batch emits exactly the new
 * result rows (see DeltaJoin). State grows with the input unless the join's conjuncts bound it in event time
 * (`b.ts BETWEEN a.ts AND a.expires`: then rows leave once the watermark passes them).
 */
export class RegularJoinOperator implements StatefulOperator {
  readonly storesWholeRows = false;
  readonly storesNamedColumnsOnly = false;
  readonly mode = 'append' as const;
  readonly keyColumns: readonly string[] = [];
  readonly streams: readonly string[];
  readonly stateTables: readonly string[];
  readonly outputTable: string;
  readonly description: string;

  constructor(
    readonly sink: string,
    private readonly join: DeltaJoin,
    streams: readonly string[],
  ) {
    this.streams = streams;
    this.stateTables = join.stateTables;
    this.outputTable = stateTable('out', sink);
    this.description = join.bounded ? 'stream–stream join (bounded by event-time conjuncts)' : 'stream–stream join (unbounded)';
  }

  async process(exec: Exec, batchId: number): Promise<void> {
    let cleared = false;
    const clear = async () => {
      if (!cleared) await exec(`DELETE FROM ${this.outputTable} WHERE __ds_batch = ${batchId}`);
      cleared = true;
    };
    await this.join.run(
      exec,
      async (term) => {
        await clear();
        await exec(`INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${term})`);
      },
      async (shape) => exec(`CREATE TABLE IF NOT EXISTS ${this.outputTable} AS SELECT *, 0::BIGINT AS __ds_batch FROM (${shape}) LIMIT 0`),
    );
  }
}
