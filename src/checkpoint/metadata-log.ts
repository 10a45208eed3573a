import { existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readVersioned, writeVersioned } from './versioned-file.js';

/**
 * One file per batch id (Spark's HDFSMetadataLog): `<dir>/<batchId>`, written atomically.
 * Used for the offset log (written before a batch reads anything) and the commit log (after its sinks).
 */
export class MetadataLog<T> {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Write the entry for `batchId`; false (and nothing written) if it already exists. */
  add(batchId: number, value: T): boolean {
    const path = this.pathOf(batchId);
    if (existsSync(path)) return false;
    writeVersioned(path, value);
    return true;
  }

  get(batchId: number): T | undefined {
    const path = this.pathOf(batchId);
    return existsSync(path) ? readVersioned<T>(path) : undefined;
  }

  /** Batch ids present, ascending. Temp files of interrupted writes (dot-prefixed) are not entries. */
  batchIds(): number[] {
    return readdirSync(this.dir)
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  }

  getLatest(): { batchId: number; value: T } | undefined {
    const ids = this.batchIds();
    const last = ids[ids.length - 1];
    if (last === undefined) return undefined;
    return { batchId: last, value: readVersioned<T>(this.pathOf(last)) };
  }

  /** Remove entries with id < threshold (retention). */
  purge(threshold: number): void {
    for (const id of this.batchIds()) if (id < threshold) unlinkSync(this.pathOf(id));
    for (const name of readdirSync(this.dir)) if (name.startsWith('.') && name.endsWith('.tmp')) unlinkSync(join(this.dir, name));
  }

  private pathOf(batchId: number): string {
    return join(this.dir, String(batchId));
  }
}
