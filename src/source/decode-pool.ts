import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DecodeOutcome, DecodeTask } from './decode-task.js';

/**
 * A few worker threads reading and decoding log partitions (decode-worker.ts) while the main thread waits: the
 * read + JSON decode of a batch is CPU work DuckDB does not overlap with, so other cores can share it. Threads
 * start on first use, stay for the pool's life and never keep the process alive when idle (unref'd between
 * tasks, ref'd while one runs, so an awaited read cannot be cut short by the process exiting).
 */
export class DecodePool {
  private readonly threads = new Set<PoolThread>();
  private readonly idle: PoolThread[] = [];
  private readonly queue: Queued[] = [];
  private closed = false;

  constructor(readonly maxThreads: number) {}

  /** Runs the tasks on up to `min(tasks, maxThreads)` threads; outcomes in task order. Rejects only if a thread fails. */
  runAll(tasks: readonly DecodeTask[]): Promise<DecodeOutcome[]> {
    if (this.closed) return Promise.reject(new Error('decode pool is closed'));
    const want = Math.min(tasks.length, this.maxThreads);
    while (this.threads.size < want) this.spawn();
    return Promise.all(tasks.map((task) => new Promise<DecodeOutcome>((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.pump();
    })));
  }

  /** Stops every thread; tasks not yet done are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new Error('decode pool closed'));
    const threads = [...this.threads];
    this.threads.clear();
    this.idle.length = 0;
    await Promise.all(threads.map((t) => t.stop()));
  }

  private spawn(): void {
    const t = new PoolThread(
      () => {
        this.idle.push(t);
        this.pump();
      },
      (err) => {
        this.threads.delete(t);
        const i = this.idle.indexOf(t);
        if (i >= 0) this.idle.splice(i, 1);
        // the batch fails as a whole (the caller falls back to the main thread); nothing may wait on a dead thread
        for (const q of this.queue.splice(0)) q.reject(err);
      },
    );
    this.threads.add(t);
    this.idle.push(t);
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) this.idle.pop()!.start(this.queue.shift()!);
  }
}

interface Queued {
  readonly task: DecodeTask;
  readonly resolve: (o: DecodeOutcome) => void;
  readonly reject: (err: Error) => void;
}

/** One worker thread running one task at a time. */
class PoolThread {
  private readonly worker: Worker;
  private current: Queued | undefined;
  private nextId = 0;
  private dead = false;

  constructor(
    private readonly onIdle: () => void,
    private readonly onDead: (err: Error) => void,
  ) {
    this.worker = newWorker();
    this.worker.unref();
    this.worker.on('message', (m: { id: number; outcome: DecodeOutcome }) => {
      const q = this.current;
      if (!q || m.id !== this.nextId) return;
      this.current = undefined;
      this.worker.unref();
      q.resolve(m.outcome);
      this.onIdle();
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('messageerror', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`decode worker thread exited with code ${code}`)));
  }

  start(q: Queued): void {
    this.current = q;
    this.worker.ref();
    this.worker.postMessage({ id: ++this.nextId, task: q.task });
  }

  async stop(): Promise<void> {
    this.dead = true;
    await this.worker.terminate();
  }

  private fail(err: Error): void {
    const q = this.current;
    this.current = undefined;
    q?.reject(err);
    if (!this.dead) {
      this.dead = true;
      this.onDead(err);
      void this.worker.terminate();
    }
  }
}

/**
 * The worker script next to this module: compiled JavaScript under dist/, or, when this module itself runs as
 * TypeScript (vitest, tsx), the .ts file loaded through tsx's ESM hooks, registered inside the new thread.
 */
function newWorker(): Worker {
  const here = import.meta.url;
  // no inherited flags: some (--input-type, --eval) make a worker fail to start, and a decoder needs none
  if (!/\.ts$/.test(new URL(here).pathname)) return new Worker(new URL('./decode-worker.js', here), { execArgv: [] });
  // tsx's ESM API (the .mjs build: its .cjs one cannot load its own ESM half), by file URL: a data: module resolves
  // no package names. `register()` hooks tsx into this thread's loader (importing tsx/esm only does so on the main thread).
  const tsx = new URL('./dist/esm/api/index.mjs', pathToFileURL(createRequire(here).resolve('tsx/package.json'))).href;
  const entry = new URL('./decode-worker.ts', here).href;
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { execArgv: [] });
}
