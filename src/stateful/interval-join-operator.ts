import type { TreeNode } from '../sql/parse-tree.js';
import { BOUNDS, onTimeTable, stateTable, type Exec, type StatefulOperator } from './operator.js';

/** An interval join recognised in a query (src/stateful/interval-join-match.ts). */
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
      await exec(
        `UPDATE ${bufL} SET __ds_matched = true WHERE NOT __ds_matched AND (_topic, _partition, _offset) IN (${this.templates.matched(pick(oldL, `(SELECT * FROM ${bufR})`))})`,
      );
      const unmatched = `(SELECT * EXCLUDE (__ds_matched) FROM ${bufL} WHERE NOT __ds_matched AND ${leftGone})`;
      await exec(
        `INSERT INTO ${this.outputTable} SELECT *, ${batchId}::BIGINT FROM (${this.templates.full(pick(unmatched, `(SELECT * FROM ${bufR} LIMIT 0)`))})`,
      );
    }
    await exec(`DELETE FROM ${bufL} WHERE ${leftGone}`);
    await exec(`DELETE FROM ${bufR} WHERE ${rt} + to_microseconds(${this.spec.lowerUs}) < ${hi}`);
  }
}
