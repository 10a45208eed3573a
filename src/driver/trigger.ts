import { userError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import type { BatchProgress } from './progress.js';
import type { Driver } from './driver.js';

/** When batches run (Spark's triggers): every interval, once, or everything available now and stop. */
export type Trigger = { readonly kind: 'interval'; readonly ms: number } | { readonly kind: 'once' } | { readonly kind: 'available-now' };

export function parseTrigger(text: string): Trigger {
  if (text === 'once') return { kind: 'once' };
  if (text === 'available-now' || text === 'availableNow') return { kind: 'available-now' };
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw userError(`--trigger '${text}' is not a trigger`, "use an interval like 500ms, 1s, 2m, or 'once', or 'available-now'");
  return { kind: 'interval', ms };
}

export interface TriggerLoopOptions {
  /** After an available-now run, move the watermark to the end of time so every open window is emitted. */
  readonly drain?: boolean;
  readonly clock: Clock;
  /** Resolves when the user asked to stop (SIGINT/SIGTERM): the current batch finishes and commits first. */
  readonly stopRequested: Promise<void>;
  readonly isStopRequested: () => boolean;
  readonly onBatch?: (progress: BatchProgress) => void;
}

/**
 * Run batches as the trigger says. A pending batch left by a crash is always re-run first.
 * Returns the number of batches run.
 */
export async function runTrigger(driver: Driver, trigger: Trigger, o: TriggerLoopOptions): Promise<number> {
  let batches = 0;
  const done = (p: BatchProgress | undefined) => {
    if (!p) return false;
    batches++;
    o.onBatch?.(p);
    return true;
  };
  if (driver.pendingBatchId !== undefined) done(await driver.runOnce());
  if (trigger.kind === 'once') {
    if (!o.isStopRequested()) done(await driver.runOnce({ uncapped: true }));
    return batches;
  }
  if (trigger.kind === 'available-now') {
    const upTo = await driver.snapshotLatest();
    // Capped batches until what was available at start is read. A batch that read nothing only moved the watermark
    // (idle sources: it moves with processing time): one is enough, or an idle source would batch forever.
    while (!o.isStopRequested()) {
      const p = await driver.runOnce({ upTo });
      if (!done(p) || readNothing(p!)) break;
    }
    // Bounded input is over: Flink's end-of-input watermark, so the last windows are emitted too.
    if (o.drain && !o.isStopRequested()) done(await driver.runOnce({ drain: true }));
    return batches;
  }
  let next = o.clock.now();
  while (!o.isStopRequested()) {
    const batchTime = next;
    done(await driver.runOnce({ batchTime }));
    // Intervals stay aligned to the first tick. A batch that overran starts the next one at once (Spark's
    // ProcessingTime), with the last tick that passed as its batch time: ticks missed while it ran are skipped.
    next = nextTick(batchTime, o.clock.now(), trigger.ms);
    await Promise.race([o.clock.sleepUntil(next), o.stopRequested]);
  }
  return batches;
}

/** A batch whose ranges were all empty (a no-data batch that ran to move the watermark). */
function readNothing(p: BatchProgress): boolean {
  return p.sources.every((s) => Object.entries(s.startOffset).every(([k, v]) => s.endOffset[k] === v));
}

/** The batch time of the batch after one that started at `batchTime`: the next tick, or the last passed one if it overran. */
export function nextTick(batchTime: number, now: number, intervalMs: number): number {
  return batchTime + intervalMs * Math.max(1, Math.floor((now - batchTime) / intervalMs));
}
