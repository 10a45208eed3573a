import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { Checkpoint } from '../checkpoint/checkpoint.js';
import { userError } from '../errors.js';
import { parseJob } from '../job/parse-job.js';
import { systemClock, type Clock } from '../util/clock.js';
import { compileJob } from './compile-job.js';
import type { DriverOptions } from './driver.js';
import { startQuery, type StartedQuery } from './start-query.js';
import type { BatchProgress } from './progress.js';
import { runTrigger, type Trigger } from './trigger.js';
import type { EvolutionRequest } from '../stateful/state-evolution.js';
import type { BatchCaps } from '../plan/plan-batch.js';

export interface RunJobOptions {
  readonly jobFile: string;
  /** Default `.duckstream/<job name>`. */
  readonly checkpoint?: string;
  readonly trigger: Trigger;
  /** With available-now: end with a batch that moves the watermark to the end of time. */
  readonly drain?: boolean;
  readonly caps?: BatchCaps;
  readonly allowSourceChange?: boolean;
  readonly clock?: Clock;
  /** Console sinks print here (default process.stdout). */
  readonly stdout?: Writable;
  readonly note?: (message: string) => void;
  readonly onBatch?: (progress: BatchProgress) => void;
  /** Abort to stop after the current batch (the CLI wires SIGINT/SIGTERM here). */
  readonly signal?: AbortSignal;
  readonly afterStep?: DriverOptions['afterStep'];
  /**
   * fsync the checkpoint logs and file sink outputs (default true: exactly-once survives power cuts). false:
   * exactly-once still survives process crashes (SIGKILL, OOM kill), not a power cut or kernel crash.
   */
  readonly fsync?: boolean;
  /** Let Kafka clients log their errors to stderr (default silent). */
  readonly kafkaLog?: boolean;
  /** Stateful sinks whose state starts empty from the current offsets, or is recomputed from the sources' history. */
  readonly evolution?: EvolutionRequest;
}

export function defaultCheckpointDir(jobName: string): string {
  return join('.duckstream', jobName);
}

/** Parse, compile and run a job file until its trigger says stop (or the signal aborts). */
export async function runJob(o: RunJobOptions): Promise<{ batches: number; checkpoint: string }> {
  let text: string;
  try {
    text = readFileSync(o.jobFile, 'utf8');
  } catch (err) {
    throw userError(
      `cannot read job file ${o.jobFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      'give the path of a .sql job file, e.g. duckstream run jobs/pageview-errors.sql',
    );
  }
  const def = parseJob(text, o.jobFile);
  const checkpointDir = o.checkpoint ?? defaultCheckpointDir(def.name);
  const checkpoint = Checkpoint.open(checkpointDir, {
    jobName: def.name,
    fingerprint: { sourcesHash: def.sourcesHash, jobHash: def.jobHash },
    allowSourceChange: o.allowSourceChange,
    onNote: o.note,
    fsync: o.fsync,
  });
  const query = await startQuery({
    checkpoint,
    compile: (engine) => compileJob(def, engine, { checkpointDir: checkpoint.dir, stdout: o.stdout, kafkaLog: o.kafkaLog }),
    bindCheck: true,
    driver: driverOptions(o),
  });
  // Only once the start was accepted: a refused start leaves the checkpoint as it was.
  const sources = def.sources.map((s) => ({ name: s.name, options: { ...s.options } }));
  if (JSON.stringify(checkpoint.metadata.sources) !== JSON.stringify(sources)) checkpoint.updateMetadata((m) => (m.sources = sources));
  return runStartedQuery(query, o);
}

/** What the driver takes from the run options. */
export function driverOptions(o: RunJobOptions): DriverOptions {
  return { clock: o.clock, caps: o.caps, note: o.note, afterStep: o.afterStep, evolution: o.evolution };
}

/** Run a started query with the options' trigger until it says stop (or the signal aborts), then close it. */
export async function runStartedQuery(query: StartedQuery, o: RunJobOptions): Promise<{ batches: number; checkpoint: string }> {
  try {
    const stopRequested = new Promise<void>((resolve) => {
      if (o.signal?.aborted) resolve();
      o.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    if (o.drain && o.trigger.kind !== 'available-now')
      throw userError('--drain only goes with --trigger available-now', 'add --trigger available-now, or drop --drain');
    const batches = await runTrigger(query.driver, o.trigger, {
      clock: o.clock ?? systemClock,
      stopRequested,
      isStopRequested: () => o.signal?.aborted ?? false,
      onBatch: o.onBatch,
      drain: o.drain,
    });
    return { batches, checkpoint: query.checkpoint.dir };
  } finally {
    await query.close();
  }
}
