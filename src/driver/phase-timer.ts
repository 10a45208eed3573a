import { performance } from 'node:perf_hooks';
import type { PhaseTimes } from './progress.js';

export type Phase = keyof PhaseTimes;

/**
 * Where a batch's time went, per phase of progress.ndjson's `durationMs` (Spark's `reportTimeTaken`). Phases add
 * up: a phase timed twice in a batch (the plan, then the read-ahead after the read) reports the sum.
 */
export class PhaseTimer {
  readonly times: PhaseTimes = { plan: 0, walCommit: 0, read: 0, toArrow: 0, ingest: 0, transform: 0, sink: 0, commit: 0 };

  /** Run `fn` and add its duration to `phase` (for a promise: until it settles, rejected or not). */
  time<T>(phase: Phase, fn: () => Promise<T>): Promise<T>;
  time<T>(phase: Phase, fn: () => T): T;
  time<T>(phase: Phase, fn: () => T | Promise<T>): T | Promise<T> {
    const start = performance.now();
    const stop = () => {
      this.times[phase] += performance.now() - start;
    };
    let result: T | Promise<T>;
    try {
      result = fn();
    } catch (err) {
      stop();
      throw err;
    }
    if (result instanceof Promise) return result.finally(stop);
    stop();
    return result;
  }

  /**
   * Time `work` from the moment `before` settles: a phase that overlaps the one before it (the commit entry,
   * prepared while the sinks run) reports only the part after it. Rejects as `work` does.
   */
  async timeAfter<T>(phase: Phase, before: Promise<unknown>, work: Promise<T>): Promise<T> {
    work.catch(() => undefined); // awaited below: not an unhandled rejection while `before` runs
    await before.then(
      () => undefined,
      () => undefined,
    );
    return this.time(phase, () => work);
  }

  /** Add time measured elsewhere (a source's own read and decode timings). */
  add(phase: Phase, ms: number): void {
    this.times[phase] += ms;
  }
}
