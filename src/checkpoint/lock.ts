import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import fsExt from 'fs-ext';
import { userError } from '../errors.js';

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/**
 * Exactly one driver per checkpoint, held as an OS file lock (`flock(2)` on `<checkpoint>/lock`, through fs-ext):
 * the kernel releases it when the holder's process ends, however it ends, so a driver restarted right after a
 * SIGKILL — even with the dead driver's pid, as a container restarted on the same volume gets — takes it at once.
 * No pid is ever guessed at. The file's text names the holder, for the refusal message only.
 *
 * flock locks belong to an open file, so a second open in the same process is refused too. The file is unlinked on
 * release; a driver that locked a file someone unlinked meanwhile sees that its inode is no longer the path's, and
 * tries again on the new file, so two drivers never both hold "the" lock.
 */
export class CheckpointLock {
  private constructor(
    readonly path: string,
    private fd: number | undefined,
  ) {}

  static acquire(path: string): CheckpointLock {
    for (let attempt = 0; attempt < 10; attempt++) {
      const fd = openSync(path, 'a+');
      try {
        fsExt.flockSync(fd, 'exnb');
      } catch (err) {
        closeSync(fd);
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' && (err as NodeJS.ErrnoException).code !== 'EWOULDBLOCK') throw err;
        throw refusal(path);
      }
      if (!sameFile(fd, path)) {
        closeSync(fd); // released and unlinked by its holder between our open and our lock: lock the new file
        continue;
      }
      const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
      ftruncateSync(fd, 0);
      writeSync(fd, JSON.stringify(owner), 0);
      return new CheckpointLock(path, fd);
    }
    throw userError(`could not take the checkpoint lock ${path}`, 'other drivers keep taking and releasing it; stop them');
  }

  release(): void {
    if (this.fd === undefined) return;
    // Unlink while still holding the lock, so nobody locks the old file after we let go.
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone: nothing to clean */
    }
    closeSync(this.fd);
    this.fd = undefined;
  }
}

function sameFile(fd: number, path: string): boolean {
  try {
    const held = fstatSync(fd);
    const named = statSync(path);
    return held.ino === named.ino && held.dev === named.dev;
  } catch {
    return false; // the path is gone
  }
}

function refusal(path: string): Error {
  const owner = readOwner(path);
  const who = owner ? `process ${owner.pid} on ${owner.host} (since ${owner.since})` : 'another process';
  return userError(`checkpoint is in use: ${path} is held by ${who}`, 'stop that driver first, or give this run another --checkpoint directory');
}

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return undefined; // being written by the holder, which took the lock a moment ago
  }
}
