import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { userError } from '../errors.js';

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

/**
 * One appender per partition across processes: a lock file holding the owner's pid. It is created whole
 * (written to a temp file, then hard-linked into place, which fails if the lock exists). A lock whose
 * process is gone is taken over; a live one is refused with the owner's pid.
 */
export class AppendLock {
  private constructor(
    readonly file: string,
    private readonly token: string,
  ) {}

  static acquire(file: string, what: string): AppendLock {
    const token = randomBytes(8).toString('hex');
    const owner: LockOwner = { pid: process.pid, host: hostname(), token, since: new Date().toISOString() };
    const tmp = `${file}.${process.pid}.${token}.tmp`;
    writeFileSync(tmp, JSON.stringify(owner) + '\n');
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          linkSync(tmp, file);
          return new AppendLock(file, token);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const current = readOwner(file);
        if (current === undefined) continue; // released meanwhile: try again
        if (current.owner && isAlive(current.owner)) {
          const who = current.owner.pid === process.pid ? 'this process (another open log handle)' : `process ${current.owner.pid} on ${current.owner.host}`;
          throw userError(
            `${what} is already being appended to by ${who}, since ${current.owner.since}`,
            `stop that appender first; if it is gone, delete ${file}`,
          );
        }
        takeOver(file, current.text);
      }
      throw userError(`could not take the append lock ${file}: other processes keep racing for it`, 'try again');
    } finally {
      unlinkSync(tmp);
    }
  }

  /** Remove the lock file if it is still ours. */
  release(): void {
    const current = readOwner(this.file);
    if (current?.owner?.token === this.token) unlinkSync(this.file);
  }
}

function readOwner(file: string): { text: string; owner: LockOwner | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return { text, owner: typeof owner.pid === 'number' ? owner : undefined };
  } catch {
    return { text, owner: undefined }; // unreadable: no live owner can be named, treat as stale
  }
}

function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // cannot check another machine's processes: assume alive
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove a stale lock whose content is `staleText`. Renaming is atomic, so of several processes taking over
 * the same stale lock only one moves it; one that moved a fresh lock instead (created by a faster process
 * in between) puts it back.
 */
function takeOver(file: string, staleText: string): void {
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = readFileSync(aside, 'utf8');
  if (moved !== staleText) {
    try {
      linkSync(aside, file);
    } catch {
      // someone else holds the lock now; they keep it
    }
  }
  unlinkSync(aside);
}
