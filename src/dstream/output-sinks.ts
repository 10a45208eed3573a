import type { Writable } from 'node:stream';
import type { Engine, Row } from '../sql/engine.js';
import type { Sink, SinkBatch } from '../sink/sink.js';

export interface BatchInfo {
  readonly batchId: number;
  /** The batch's time (ms since the epoch), as in the offset log: the same on a replay. */
  readonly batchTime: number;
}

/** Whether a stream has a batch at this batch id (a window only at its slides); outputs skip the others. */
export type ActiveAt = (batchId: number) => boolean;

const RULE = '-------------------------------------------';

/**
 * DStream.print(n): Spark's format, `Time: <batch time> ms` then the first n rows (one column: the value;
 * several: `(a,1)`), `...` when there are more. At-least-once, like any terminal output.
 */
export class PrintSink implements Sink {
  out: Writable = process.stdout;
  active: ActiveAt = () => true;

  constructor(
    readonly name: string,
    private readonly num: number,
  ) {}

  async open(_engine: Engine): Promise<void> {}

  async addBatch(batch: SinkBatch): Promise<void> {
    if (!this.active(batch.batchId)) return;
    const rows = await batch.engine.allJson(`SELECT * FROM ${batch.relation} LIMIT ${this.num + 1}`);
    const lines = rows.slice(0, this.num).map(formatRow);
    if (rows.length > this.num) lines.push('...');
    this.out.write(`${RULE}\nTime: ${batch.batchTime} ms\n${RULE}\n${lines.map((l) => `${l}\n`).join('')}\n`);
  }

  async close(): Promise<void> {}
}

function formatRow(row: Row): string {
  const values = Object.values(row).map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)));
  return values.length === 1 ? values[0]! : `(${values.join(',')})`;
}

/** DStream.foreachBatch: the user's function gets each batch's rows. At-least-once (a replay calls it again). */
export class ForeachBatchSink implements Sink {
  active: ActiveAt = () => true;

  constructor(
    readonly name: string,
    private readonly fn: (rows: Row[], info: BatchInfo) => void | Promise<void>,
  ) {}

  async open(_engine: Engine): Promise<void> {}

  async addBatch(batch: SinkBatch): Promise<void> {
    if (!this.active(batch.batchId)) return;
    const rows = await batch.engine.all(`SELECT * FROM ${batch.relation}`);
    await this.fn(rows, { batchId: batch.batchId, batchTime: batch.batchTime });
  }

  async close(): Promise<void> {}
}
