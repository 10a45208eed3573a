import { dirname } from 'node:path';
import { DuckstreamError, errorMessage } from '../errors.js';

/**
 * A write that failed because the filesystem is full, as a DuckstreamError that names the path and the way on; undefined
 * for any other error. Node's errors carry the path (`err.path`, set by writeFileAtomic for writes too); DuckDB
 * names it in its message (`Could not write file "<path>": No space left on device`).
 */
export function diskFullError(err: unknown): DiskFullError | undefined {
  if (err instanceof DiskFullError) return undefined;
  const message = errorMessage(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && !/No space left on device|Disk quota exceeded/i.test(message)) return undefined;
  const path = (err as NodeJS.ErrnoException).path ?? /"(\/[^"]+)"/.exec(message)?.[1] ?? /'(\/[^']+)'/.exec(message)?.[1];
  const where = path ? `the filesystem holding ${path}` : 'a filesystem the job writes to';
  return new DiskFullError(`no space left on ${where}: ${message}`, {
    domain: 'external',
    retriable: false,
    fix: `free space there${path ? ` (df -h ${dirname(path)})` : ''}, then run the job again: it re-runs the unfinished batch from its offset entry and loses nothing`,
    cause: err,
  });
}

/** A write failed for want of space (ENOSPC or a quota). Sinks may already have wrapped it: it is found in their message. */
export class DiskFullError extends DuckstreamError {
  override readonly name = 'DiskFullError';
}

/** Give a Node error of a write the path it was writing (fd writes do not carry one), so diskFullError can name it. */
export function withPath(err: unknown, path: string): unknown {
  if (err instanceof Error && (err as NodeJS.ErrnoException).code !== undefined && (err as NodeJS.ErrnoException).path === undefined) {
    (err as NodeJS.ErrnoException).path = path;
  }
  return err;
}
