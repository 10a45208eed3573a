/**
 * Spark's TestSuiteBase for DStreams, on our driver: inputs per batch go into an embedded log, each batch runs
 * with a ManualClock at its batch time, and the output stream's rows are collected per batch (through
 * foreachBatch, so only batches where the stream has a batch — a window's slides — count, as in Spark).
 * Optional stops and injected crashes restart the job from its checkpoint in the middle.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import type { Driver, ProtocolStep } from '../../src/driver/driver.js';
import { startQuery, type StartedQuery } from '../../src/driver/start-query.js';
import { compileDStreamJob } from '../../src/dstream/compile.js';
import { StreamingContext } from '../../src/dstream/context.js';
import type { DStream } from '../../src/dstream/dstream.js';
import { createLog, openLog } from '../../src/log/index.js';
import type { Row } from '../../src/sql/engine.js';
import { ManualClock } from '../../src/util/clock.js';

export interface DStreamCase {
  /** Value columns of the input records (JSON); omit for text records (`value`). */
  readonly schema?: string;
  /** Input records per batch (objects as JSON, strings as text). */
  readonly input: readonly (readonly (object | string)[])[];
  /** Batches to run (default: as many as inputs). */
  readonly numBatches?: number;
  readonly batchInterval?: number;
  readonly operation: (input: DStream, ssc: StreamingContext) => DStream;
  /** Stop the stream after these batches and start it again from the checkpoint. */
  readonly restartAfter?: readonly number[];
  /** Kill the stream right after this protocol step of these batches; the restart replays the batch. */
  readonly crashes?: readonly { batch: number; step: ProtocolStep }[];
  /** More outputs of the same stream (e.g. saveAsParquet), for tests that read them afterwards. */
  readonly extraOutputs?: (out: DStream, dir: string) => void;
  readonly keepDir?: (dir: string) => void;
}

/** Run the case and return the output rows of each batch in which the stream had a batch, in order. */
export async function runCase(c: DStreamCase): Promise<Row[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-dstream-'));
  const logPath = join(dir, 'logs', 'input');
  await (await createLog(logPath, { partitions: 1 })).close();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const interval = c.batchInterval ?? 1000;
  const outputs = new Map<number, Row[]>();
  const crashes = [...(c.crashes ?? [])];
  let query: StartedQuery | undefined;
  let driver: Driver | undefined;

  const start = async () => {
    const ssc = new StreamingContext({ batchInterval: interval });
    const input = ssc.logStream(logPath, c.schema ? { format: 'json', schema: c.schema, name: 'input' } : { name: 'input' });
    const out = c.operation(input, ssc);
    out.foreachBatch((rows, info) => void outputs.set(info.batchId, rows), 'collect');
    c.extraOutputs?.(out, dir);
    const checkpointDir = join(dir, 'checkpoint');
    query = await startQuery({
      checkpoint: Checkpoint.open(checkpointDir, { jobName: 'test', fingerprint: { sourcesHash: 'x', jobHash: 'x' } }),
      compile: (engine) => compileDStreamJob(ssc, engine, { file: join(dir, 'test-job.ts'), checkpointDir }),
      driver: {
        clock,
        snapshotIntervalMs: 60_000,
        afterStep: (step, batchId) => {
          const i = crashes.findIndex((x) => x.batch === batchId && x.step === step);
          if (i >= 0) {
            crashes.splice(i, 1);
            throw new Error(`injected crash after ${step} of batch ${batchId}`);
          }
        },
      },
    });
    driver = query.driver;
  };
  const stop = async () => {
    await query?.close();
    query = undefined;
    driver = undefined;
  };

  try {
    await start();
    const n = c.numBatches ?? c.input.length;
    for (let b = 0; b < n; b++) {
      const records = c.input[b] ?? [];
      if (records.length > 0) {
        const log = await openLog(logPath);
        await log.append(
          0,
          records.map((r) => ({ value: typeof r === 'string' ? r : JSON.stringify(r), timestamp: clock.now() })),
        );
        await log.close();
      }
      try {
        await driver!.runOnce({ batchTime: clock.now() });
      } catch (err) {
        if (!/injected crash/.test((err as Error).message)) throw err;
        await stop(); // as a crash leaves it
        await start();
        await driver!.runOnce(); // the pending batch, with the ranges and batch time of its offset log entry
      }
      clock.advance(interval);
      if (c.restartAfter?.includes(b)) {
        await stop();
        await start();
      }
    }
  } finally {
    await stop();
    c.keepDir?.(dir);
    if (!c.keepDir) rmSync(dir, { recursive: true, force: true });
  }
  return [...outputs.keys()].sort((a, b) => a - b).map((k) => outputs.get(k)!);
}

/** Rows as comparable text: numbers and bigints as strings, lists sorted (Spark's tests compare them as sets). */
export function norm(batches: readonly (readonly Row[])[], options: { sortLists?: boolean } = {}): string[][] {
  const v = (x: unknown): unknown => {
    if (typeof x === 'number' || typeof x === 'bigint') return String(x);
    if (Array.isArray(x)) {
      const items = x.map(v);
      return options.sortLists === false ? items : items.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    }
    if (x && typeof x === 'object' && !(x instanceof Date))
      return Object.fromEntries(
        Object.entries(x)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, y]) => [k, v(y)]),
      );
    return x;
  };
  return batches.map((rows) => rows.map((r) => JSON.stringify(v(r))).sort());
}

/** Spark's expected output in our row form: `[['a', 1]]` with columns ['k', 'v'] → `{ k: 'a', v: 1 }`. */
export function rows(columns: readonly string[], batches: readonly (readonly (readonly unknown[] | unknown)[])[]): Row[][] {
  return batches.map((b) => b.map((r) => Object.fromEntries(columns.map((c, i) => [c, Array.isArray(r) ? r[i] : r]))));
}
