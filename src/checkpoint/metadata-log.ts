import { mkdirSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncPath, tempPathFor, writeFileDurable } from '../util/atomic-file.js';
import { encodeVersioned, readVersioned, writeVersioned } from './versioned-file.js';

export interface MetadataLogOptions {
  /** fsync each entry (file and directory) before `add` returns; false only survives process crashes. Default true. */
  readonly fsync?: boolean;
}

/**
 * One file per batch id (Spark's HDFSMetadataLog): `<dir>/<batchId>`, written atomically.
 * Used for the offset log (written before a batch reads anything) and the commit log (after its sinks).
 *
 * The directory is listed once, when the log is opened; from then on the ids live in memory and the latest
 * entry is kept as written. That is exact for the driver, which holds the checkpoint lock (no one else writes
 * here), and it removes a readdir and a file read from every `getLatest` of every batch. A reader without the
 * lock (`duckstream status`) opens a fresh log each time, so it always sees the directory as it is.
 */
export class MetadataLog<T> {
  private readonly ids: number[];
  private latest: { batchId: number; value: T } | undefined;
  private readonly fsync: boolean;

  constructor(
    readonly dir: string,
    options: MetadataLogOptions = {},
  ) {
    mkdirSync(dir, { recursive: true });
    this.fsync = options.fsync ?? true;
    this.ids = readdirSync(dir)
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Write the entry for `batchId`; false (and nothing written) if it already exists. */
  add(batchId: number, value: T): boolean {
    if (this.has(batchId)) return false;
    writeVersioned(this.pathOf(batchId), value, { fsync: this.fsync });
    this.remember(batchId, value);
    return true;
  }

  /**
   * `add`, except that the directory fsync (what makes the rename survive a power cut) is left running: the
   * entry's content is fsynced and the entry is in place when this returns, and `durable` resolves when the rename
   * is durable too. The driver awaits it before its first write, so reading overlaps that fsync.
   */
  addDeferringDirSync(batchId: number, value: T): { added: boolean; durable: Promise<void> } {
    if (this.has(batchId)) return { added: false, durable: Promise.resolve() };
    writeVersioned(this.pathOf(batchId), value, { fsync: this.fsync, fsyncDir: false });
    this.remember(batchId, value);
    const durable = this.fsync ? fsyncPath(this.dir) : Promise.resolve();
    durable.catch(() => undefined); // the caller awaits it; a batch that fails first must not leave an unhandled rejection
    return { added: true, durable };
  }

  /**
   * `add` once `before` has resolved, with the temp file written and fsynced while `before` runs (a temp file is
   * never taken for an entry, and a stray one is removed at open): the rename waits for `before`, so the entry
   * appears only after it, and a rejected `before` leaves no entry. One fsync less on the path after `before`.
   */
  async addAfter(batchId: number, value: T, before: Promise<void>): Promise<boolean> {
    if (!this.fsync || this.has(batchId)) {
      await before;
      return this.add(batchId, value);
    }
    const path = this.pathOf(batchId);
    const tmp = tempPathFor(path);
    // Both settle before anything else happens: a failed batch must not leave a write to the temp file in flight
    // (a restart in this process would write the same temp name).
    const [written, ready] = await Promise.allSettled([writeFileDurable(tmp, encodeVersioned(value), true), before]);
    if (ready.status === 'rejected') throw ready.reason;
    if (written.status === 'rejected') throw written.reason;
    renameSync(tmp, path);
    this.remember(batchId, value);
    await fsyncPath(this.dir);
    return true;
  }

  get(batchId: number): T | undefined {
    if (this.latest?.batchId === batchId) return this.latest.value;
    if (!this.has(batchId)) return undefined;
    return readVersioned<T>(this.pathOf(batchId));
  }

  /** Batch ids present, ascending. Temp files of interrupted writes (dot-prefixed) are not entries. */
  batchIds(): number[] {
    return [...this.ids];
  }

  /** The smallest batch id present. */
  get oldestBatchId(): number | undefined {
    return this.ids[0];
  }

  getLatest(): { batchId: number; value: T } | undefined {
    const last = this.ids[this.ids.length - 1];
    if (last === undefined) return undefined;
    if (this.latest?.batchId !== last) this.latest = { batchId: last, value: readVersioned<T>(this.pathOf(last)) };
    return this.latest;
  }

  /**
   * Remove entries with id < threshold (retention). The ids leave the index at once; the files are unlinked in
   * the background (the promise), off the batch's path: a crash before they are gone leaves old entries that the
   * next purge removes, and nothing reads an entry below the threshold.
   */
  purge(threshold: number): Promise<void> {
    let n = 0;
    while (n < this.ids.length && this.ids[n]! < threshold) n++;
    const gone = this.ids.splice(0, n);
    if (this.latest !== undefined && this.latest.batchId < threshold) this.latest = undefined;
    return Promise.all(gone.map((id) => unlink(this.pathOf(id)).catch(ignoreMissing))).then(() => undefined);
  }

  /** Delete temp files left by writes that a crash interrupted. Only for the lock holder, at open. */
  removeStrayTemps(): void {
    for (const name of readdirSync(this.dir)) if (name.startsWith('.') && name.endsWith('.tmp')) unlinkSync(join(this.dir, name));
  }

  private has(batchId: number): boolean {
    // Binary search: ids are sorted and usually long (the retention).
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid]! < batchId) lo = mid + 1;
      else hi = mid;
    }
    return this.ids[lo] === batchId;
  }

  private remember(batchId: number, value: T): void {
    let i = this.ids.length;
    while (i > 0 && this.ids[i - 1]! > batchId) i--;
    this.ids.splice(i, 0, batchId);
    if (this.latest === undefined || batchId >= this.latest.batchId) this.latest = { batchId, value };
  }

  private pathOf(batchId: number): string {
    return join(this.dir, String(batchId));
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
