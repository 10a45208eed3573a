import { performance } from 'node:perf_hooks';
import { DecodePool } from './decode-pool.js';
import type { DecodeOutcome, DecodeTask } from './decode-task.js';
import { ReadAheadBackoff } from './read-ahead-backoff.js';

/** What a read finds: the outcomes read ahead for it, 'discarded' (another batch was read ahead, or it failed), or nothing. */
export type ReadAheadResult = { readonly outcomes: DecodeOutcome[]; readonly waitMs: number } | 'discarded' | undefined;

/**
 * At most one batch read and decoded ahead on its own worker threads (decode-worker.ts), keyed by what was asked
 * for (ranges and decode options). A cache with no say in the result: a failure of any kind (a damaged record, a
 * thread that died) only makes the read do the work itself, which reports it as it always would.
 */
export class ReadAhead {
  private pool: DecodePool | undefined;
  private pending: { readonly key: string; readonly outcomes: Promise<DecodeOutcome[] | undefined> } | undefined;
  private broken = false;
  private readonly backoff = new ReadAheadBackoff();
  /** Batches read ahead, and how many of them a read took or discarded (tests and benchmarks look). */
  readonly counts = { started: 0, used: 0, discarded: 0 };

  constructor(private readonly threads: number) {}

  /**
   * Start on a batch, dropping the one held before (whose threads finish it, then go on to this one). Skipped for a
   * while after reads did not take what was read ahead (say an interval trigger behind, with a per-batch cap shared
   * by backlog: data appended between batches changes every plan), so a core is not kept busy for nothing.
   */
  start(key: string, tasks: readonly DecodeTask[]): void {
    if (this.pending) this.discarded();
    this.pending = undefined;
    if (this.broken || !this.backoff.take()) return;
    this.pool ??= new DecodePool(this.threads);
    const outcomes = this.pool.runAll(tasks).then(
      (o) => (o.every((x) => x.ok) ? o : undefined),
      () => {
        // threads that cannot start or died: stop reading ahead, reads go on as without it
        this.broken = true;
        return undefined;
      },
    );
    this.pending = { key, outcomes };
    this.counts.started++;
  }

  /** The batch read ahead for `key` (awaiting it if still running); what was held is gone after this either way. */
  async take(key: string): Promise<ReadAheadResult> {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return undefined;
    const t0 = performance.now();
    const outcomes = p.key === key ? await p.outcomes : undefined;
    if (!outcomes) {
      this.discarded();
      return 'discarded';
    }
    this.counts.used++;
    this.backoff.used();
    return { outcomes, waitMs: performance.now() - t0 };
  }

  private discarded(): void {
    this.counts.discarded++;
    this.backoff.discarded();
  }

  /** Drop the batch held and stop the threads at once (a decode in progress is cut short). */
  async close(): Promise<void> {
    this.pending = undefined;
    this.broken = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }
}
