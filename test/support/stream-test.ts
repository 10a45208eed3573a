/**
 * A vitest port of Spark's StreamTest DSL: a list of actions (add data, run, check answer, stop, start,
 * crash, advance the manual clock, expect a failure) run in order against a real job on real embedded logs.
 * On failure it prints the action list with a cursor, the stream state and the sinks' rows.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { compileJob } from '../../src/driver/compile-job.js';
import type { Driver, ProtocolStep, RunOnceOptions } from '../../src/driver/driver.js';
import { startQuery, type StartedQuery } from '../../src/driver/start-query.js';
import type { BatchProgress } from '../../src/driver/progress.js';
import { parseJob } from '../../src/job/parse-job.js';
import { createLog, openLog, type AppendRecord } from '../../src/log/index.js';
import { Engine, literal, type Row } from '../../src/sql/engine.js';
import { ManualClock } from '../../src/util/clock.js';
import type { BatchCaps } from '../../src/plan/plan-batch.js';

export type Action =
  | { kind: 'AddData'; source: string; partition: number; records: readonly (object | string)[] }
  | { kind: 'StartStream'; caps?: BatchCaps }
  | { kind: 'StopStream' }
  | { kind: 'RunBatch'; expectRows?: number }
  | { kind: 'ProcessAllAvailable' }
  | { kind: 'Drain' }
  | { kind: 'CrashAt'; step: ProtocolStep; sink?: string }
  | { kind: 'CheckAnswer'; sink: string; rows: readonly Row[] }
  | { kind: 'CheckBatches'; batchIds: readonly number[] }
  | { kind: 'AdvanceManualClock'; ms: number }
  | { kind: 'ExpectFailure'; match: RegExp; action: Action }
  | { kind: 'Assert'; what: string; check: (ctx: StreamTestContext) => void | Promise<void> };

export const AddData = (source: string, partition: number, ...records: (object | string)[]): Action => ({ kind: 'AddData', source, partition, records });
export const StartStream = (caps?: BatchCaps): Action => ({ kind: 'StartStream', caps });
export const StopStream: Action = { kind: 'StopStream' };
export const RunBatch = (expectRows?: number): Action => ({ kind: 'RunBatch', expectRows });
export const ProcessAllAvailable: Action = { kind: 'ProcessAllAvailable' };
/** End of bounded input: a batch that moves the watermark to the end of time, emitting every open window. */
export const Drain: Action = { kind: 'Drain' };
/** The next batch dies right after `step` (for 'sinkWritten': after that sink); the driver is abandoned as a crash would leave it. */
export const CrashAt = (step: ProtocolStep, sink?: string): Action => ({ kind: 'CrashAt', step, sink });
/** The sink's whole output (all batches so far) equals these rows, in any order, as a multiset. */
export const CheckAnswer = (sink: string, rows: readonly Row[]): Action => ({ kind: 'CheckAnswer', sink, rows });
export const CheckBatches = (...batchIds: number[]): Action => ({ kind: 'CheckBatches', batchIds });
export const AdvanceManualClock = (ms: number): Action => ({ kind: 'AdvanceManualClock', ms });
export const ExpectFailure = (match: RegExp, action: Action): Action => ({ kind: 'ExpectFailure', match, action });
export const Assert = (what: string, check: StreamTestContext['assert']): Action => ({ kind: 'Assert', what, check });

export interface StreamTestContext {
  readonly dir: string;
  readonly clock: ManualClock;
  readonly progress: BatchProgress[];
  driver: Driver | undefined;
  assert: (ctx: StreamTestContext) => void | Promise<void>;
  /** Rows of a file sink, read by a separate DuckDB the way a notebook would. */
  sinkRows(sink: string): Promise<Row[]>;
}

class Crash extends Error {
  constructor(step: string) {
    super(`injected crash after ${step}`);
  }
}

export interface StreamJob {
  /** Logs to create: name → partitions. Referenced in the SQL as ${logs.<name>}. */
  logs: Record<string, number>;
  /** The job; `${dir}` is replaced by the test's temp directory. */
  sql: string;
}

/** Run the actions; throws with a readable trace on the first one that fails. */
export async function testStream(job: StreamJob, ...actions: Action[]): Promise<StreamTestContext> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-stream-'));
  for (const [name, partitions] of Object.entries(job.logs)) await (await createLog(join(dir, 'logs', name), { partitions })).close();
  const sql = job.sql.replaceAll('${dir}', dir);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  let query: StartedQuery | undefined;
  let crashAt: { step: ProtocolStep; sink?: string } | undefined;
  const ctx: StreamTestContext = {
    dir,
    clock,
    progress: [],
    driver: undefined,
    assert: () => undefined,
    sinkRows: (sink) => readSinkRows(sql, sink),
  };

  const stop = async () => {
    await query?.close();
    ctx.driver = undefined;
    query = undefined;
  };

  const run = async (action: Action): Promise<void> => {
    switch (action.kind) {
      case 'AddData': {
        const log = await openLog(join(dir, 'logs', action.source));
        const records: AppendRecord[] = action.records.map((r) => ({ value: typeof r === 'string' ? r : JSON.stringify(r), timestamp: clock.now() }));
        await log.append(action.partition, records);
        await log.close();
        return;
      }
      case 'StartStream': {
        if (ctx.driver) throw new Error('StartStream: the stream is already running');
        const def = parseJob(sql, 'test-job.sql');
        const checkpoint = Checkpoint.open(join(dir, 'checkpoint'), { jobName: def.name, fingerprint: { sourcesHash: def.sourcesHash, jobHash: def.jobHash } });
        query = await startQuery({
          checkpoint,
          compile: (engine) => compileJob(def, engine, { checkpointDir: checkpoint.dir }),
          bindCheck: true,
          driver: {
            clock,
            snapshotIntervalMs: 0,
            caps: action.caps,
            afterStep: (step, _batchId, detail) => {
              if (crashAt && crashAt.step === step && (crashAt.sink === undefined || crashAt.sink === detail)) {
                crashAt = undefined;
                throw new Crash(detail ? `${step} (${detail})` : step);
              }
            },
          },
        });
        ctx.driver = query.driver;
        return;
      }
      case 'StopStream':
        await stop();
        return;
      case 'RunBatch': {
        const p = await runBatch();
        if (action.expectRows !== undefined && (p?.numInputRows ?? 0) !== action.expectRows) {
          throw new Error(`RunBatch: expected ${action.expectRows} input rows, the batch had ${p?.numInputRows ?? 'no batch'}`);
        }
        return;
      }
      case 'ProcessAllAvailable':
        while (await runBatch()) {
          /* until no new data */
        }
        return;
      case 'Drain':
        await runBatch({ drain: true });
        return;
      case 'CrashAt':
        crashAt = { step: action.step, sink: action.sink };
        return;
      case 'CheckAnswer': {
        const actual = canonical(await ctx.sinkRows(action.sink));
        const expected = canonical(action.rows.map((r) => JSON.parse(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))) as Row));
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          throw new Error(`CheckAnswer(${action.sink}) failed\n  expected: ${JSON.stringify(expected)}\n  actual:   ${JSON.stringify(actual)}`);
        }
        return;
      }
      case 'CheckBatches': {
        const ids = ctx.progress.map((p) => p.batchId);
        if (JSON.stringify(ids) !== JSON.stringify(action.batchIds))
          throw new Error(`CheckBatches: expected batches ${JSON.stringify(action.batchIds)}, ran ${JSON.stringify(ids)}`);
        return;
      }
      case 'AdvanceManualClock':
        clock.advance(action.ms);
        return;
      case 'ExpectFailure': {
        let failed: unknown;
        try {
          await run(action.action);
        } catch (err) {
          failed = err;
        }
        if (!failed) throw new Error(`ExpectFailure: ${describe(action.action)} succeeded`);
        if (!action.match.test((failed as Error).message))
          throw new Error(`ExpectFailure: the error did not match ${action.match}:\n${(failed as Error).message}`);
        return;
      }
      case 'Assert':
        await action.check(ctx);
        return;
    }
  };

  const runBatch = async (options: RunOnceOptions = {}): Promise<BatchProgress | undefined> => {
    if (!ctx.driver) throw new Error('the stream is not running (StartStream first)');
    try {
      const p = await ctx.driver.runOnce(options);
      if (p) ctx.progress.push(p);
      return p;
    } catch (err) {
      if (err instanceof Crash) {
        await stop(); // as a crash leaves it: nothing committed past the step, lock released with the process
        return undefined;
      }
      throw err;
    }
  };

  let i = 0;
  try {
    for (; i < actions.length; i++) await run(actions[i]!);
    await stop();
    return ctx;
  } catch (err) {
    await stop().catch(() => undefined);
    const trace = actions.map((a, j) => `${j === i ? '=> ' : '   '}${describe(a)}`).join('\n');
    const sinks = await Promise.all(
      parseJob(sql, 'test-job.sql').sinks.map(async (s) => `  ${s.name}: ${JSON.stringify(await readSinkRows(sql, s.name).catch((e: Error) => e.message))}`),
    );
    throw new Error(
      `${(err as Error).message}\n\n== actions ==\n${trace}\n\n== batches run ==\n${ctx.progress.map((p) => `  ${p.batchId}: ${p.numInputRows} rows${p.recovered ? ' (recovered)' : ''}`).join('\n')}\n\n== sinks ==\n${sinks.join('\n')}`,
    );
  } finally {
    if (i >= actions.length) rmSync(dir, { recursive: true, force: true });
  }
}

function describe(a: Action): string {
  switch (a.kind) {
    case 'AddData':
      return `AddData(${a.source}[${a.partition}], ${a.records.length} records)`;
    case 'CheckAnswer':
      return `CheckAnswer(${a.sink}, ${a.rows.length} rows)`;
    case 'CrashAt':
      return `CrashAt(${a.step}${a.sink ? `, ${a.sink}` : ''})`;
    case 'ExpectFailure':
      return `ExpectFailure(${a.match}, ${describe(a.action)})`;
    case 'AdvanceManualClock':
      return `AdvanceManualClock(${a.ms})`;
    case 'Assert':
      return `Assert(${a.what})`;
    default:
      return a.kind;
  }
}

/**
 * A multiset of rows in a fixed order, each with sorted keys. Numbers become strings: DuckDB gives BIGINT as a
 * string and INTEGER as a number in JSON form, and a test should not have to know which the sink chose.
 */
export function canonical(rows: readonly Row[]): string[] {
  const norm = (v: unknown): unknown => (typeof v === 'number' || typeof v === 'bigint' ? String(v) : v);
  return rows
    .map((r) =>
      JSON.stringify(
        Object.fromEntries(
          Object.entries(r)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, v]) => [k, norm(v)]),
        ),
      ),
    )
    .sort();
}

/** Read a parquet/jsonl sink's directory with a separate DuckDB, as a notebook would. */
async function readSinkRows(sql: string, sinkName: string): Promise<Row[]> {
  const sink = parseJob(sql, 'test-job.sql').sinks.find((s) => s.name === sinkName);
  if (!sink) throw new Error(`no sink '${sinkName}' in the job`);
  const path = sink.options['path']!;
  const connector = sink.options['connector'];
  const glob = join(path, connector === 'parquet' ? '*.parquet' : '*.jsonl');
  if (!existsSync(path)) return [];
  const engine = await Engine.open();
  try {
    const reader = connector === 'parquet' ? 'read_parquet' : 'read_json_auto';
    return await engine.allJson(`SELECT * FROM ${reader}(${literal(glob)})`).catch((err: Error) => {
      if (/No files found/.test(err.message)) return [];
      throw err;
    });
  } finally {
    engine.close();
  }
}
