import { closeSync, fsyncSync, openSync } from 'node:fs';

/** Batch ids in file names are zero-padded to 10 digits so that names sort in batch order. */
export function padBatchId(batchId: number): string {
  if (!Number.isSafeInteger(batchId) || batchId < 0) throw new RangeError(`batch id must be a non-negative integer, got ${batchId}`);
  return String(batchId).padStart(10, '0');
}

/** fsync one file's contents (a file DuckDB wrote, before it is renamed into place). */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
