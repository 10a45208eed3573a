import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { userError } from '../errors.js';
import { createLog, openLog, type EmbeddedLog } from '../log/index.js';
import { appendEvents, EVENT_KINDS, type AppendEventsResult } from './append-events.js';
import type { EventKind, NexmarkConfig } from './config.js';
import type { GenWorkerData } from './gen-worker.js';

export { EVENT_KINDS } from './append-events.js';

export interface WriteNexmarkOptions {
  readonly dir: string;
  readonly events: number;
  readonly partitions: number;
  /** Events generated and appended per step (one append, one fsync, per kind and partition). */
  readonly chunk?: number;
  /** Append in wall-clock time at the event rate (event time ≈ append time) instead of as fast as possible. */
  readonly realtime?: boolean;
  /**
   * Worker threads, each appending to its share of the partitions (the output is the same for any number).
   * Default: one per core, at most one per partition; 1 runs in this thread. With `realtime`, always 1.
   */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  readonly onChunk?: (eventsSoFar: number) => void;
}

export interface WriteNexmarkResult {
  events: number;
  records: Record<EventKind, number>;
  bytes: number;
  wallMs: number;
  workers: number;
}

const WORKER_FILE = fileURLToPath(new URL('./gen-worker.js', import.meta.url));

/**
 * Generate Nexmark events into three embedded logs, `<dir>/person`, `<dir>/auction` and `<dir>/bid` (created with
 * `partitions` partitions, or appended to if they exist). Records carry no key; their log timestamp is the append
 * time, their `date_time` the event time.
 */
export async function writeNexmarkLogs(config: NexmarkConfig, o: WriteNexmarkOptions): Promise<WriteNexmarkResult> {
  const logs = {} as Record<EventKind, EmbeddedLog>;
  for (const k of EVENT_KINDS) {
    const path = join(o.dir, k);
    logs[k] = existsSync(join(path, 'log.json')) ? await openLog(path) : await createLog(path, { partitions: o.partitions });
  }
  const partitions = Math.min(...EVENT_KINDS.map((k) => logs[k].partitionCount()));
  for (const k of EVENT_KINDS) await logs[k].close();
  const chunk = o.chunk ?? (o.realtime ? Math.max(1, Math.round(config.rate / 100)) : 50_000);
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 1)) throw userError(`workers must be a whole number ≥ 1, got ${o.workers}`);
  const workers = o.realtime ? 1 : Math.min(o.workers ?? defaultWorkers(), partitions);
  const t0 = performance.now();
  const common = { dir: o.dir, events: o.events, partitions, chunk };
  let results: AppendEventsResult[];
  if (workers === 1) {
    const stopped = () => o.signal?.aborted === true;
    results = [
      await appendEvents(config, { ...common, owns: () => true, realtime: o.realtime === true, stopped, ...(o.onChunk ? { onChunk: o.onChunk } : {}) }),
    ];
  } else {
    results = await runWorkers(config, common, workers, o);
  }
  const records: Record<EventKind, number> = { person: 0, auction: 0, bid: 0 };
  let bytes = 0;
  for (const r of results) {
    for (const k of EVENT_KINDS) records[k] += r.records[k];
    bytes += r.bytes;
  }
  return { events: Math.min(...results.map((r) => r.events)), records, bytes, wallMs: performance.now() - t0, workers };
}

/**
 * One per core; 1 when this module runs from TypeScript sources (tests), where the compiled worker file is not
 * next to it.
 */
function defaultWorkers(): number {
  return existsSync(WORKER_FILE) ? availableParallelism() : 1;
}

async function runWorkers(
  config: NexmarkConfig,
  common: { dir: string; events: number; partitions: number; chunk: number },
  workers: number,
  o: WriteNexmarkOptions,
): Promise<AppendEventsResult[]> {
  if (!existsSync(WORKER_FILE))
    throw userError(`the generator's worker file ${WORKER_FILE} is missing`, 'build duckstream (npm run build), or pass workers: 1');
  const progress = new Array<number>(workers).fill(0);
  const threads: Worker[] = [];
  const stopAll = () => threads.forEach((t) => t.postMessage('stop'));
  o.signal?.addEventListener('abort', stopAll, { once: true });
  try {
    // Settle all before failing, so no worker still holds append locks when this returns.
    const settled = await Promise.allSettled(
      Array.from({ length: workers }, (_, index) => {
        const data: GenWorkerData = { config, ...common, index, workers };
        const t = new Worker(WORKER_FILE, { workerData: data });
        threads.push(t);
        return new Promise<AppendEventsResult>((resolve, reject) => {
          let done = false;
          t.on('message', (m: { progress?: number; result?: AppendEventsResult; error?: string }) => {
            if (m.progress !== undefined) {
              progress[index] = m.progress;
              o.onChunk?.(Math.min(...progress));
            } else if (m.result) {
              done = true;
              resolve(m.result);
            } else if (m.error) {
              done = true;
              stopAll();
              reject(new Error(`nexmark generator worker ${index}: ${m.error}`));
            }
          });
          t.on('error', (err) => {
            stopAll();
            reject(err);
          });
          t.on('exit', (code) => {
            if (!done) reject(new Error(`nexmark generator worker ${index} exited with code ${code} before finishing`));
          });
        });
      }),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<AppendEventsResult>).value);
  } finally {
    o.signal?.removeEventListener('abort', stopAll);
  }
}
