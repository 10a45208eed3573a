import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { userError } from '../errors.js';

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

/**
 * Exactly one driver per checkpoint. The lock file names its owner; a lock left by a process that is
 * gone (killed with SIGKILL) is taken over, a live one is refused.
 */
export class CheckpointLock {
  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  static acquire(path: string): CheckpointLock {
    const token = randomUUID();
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        const owner: LockOwner = { pid: process.pid, host: hostname(), token, since: new Date().toISOString() };
        writeSync(fd, JSON.stringify(owner));
        closeSync(fd);
        return new CheckpointLock(path, token);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readOwner(path);
      if (owner && owner.host === hostname() && isAlive(owner.pid)) {
        throw userError(
          `checkpoint is in use: ${path} is held by process ${owner.pid} (since ${owner.since})`,
          `stop that driver first, or give this run another --checkpoint directory`,
        );
      }
      if (owner && owner.host !== hostname()) {
        throw userError(
          `checkpoint is locked by host ${owner.host} (pid ${owner.pid}): ${path}`,
          'stop the driver there, or delete the lock file if that host is gone',
        );
      }
      // Stale: its process is gone. Remove and try again; a racing driver loses at openSync('wx').
      try {
        unlinkSync(path);
      } catch {
        /* another driver removed it first */
      }
    }
    throw userError(`could not take the checkpoint lock ${path}`, 'another driver keeps taking it; stop the other drivers');
  }

  release(): void {
    const owner = readOwner(this.path);
    if (owner?.token === this.token) unlinkSync(this.path);
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return undefined; // half-written by a driver that died between open and write: stale
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
