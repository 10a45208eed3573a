import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointLock } from '../../src/checkpoint/lock.js';

const LOCK_MODULE = resolve('dist/src/checkpoint/lock.js');
// The full loops (100 restarts, 50 races) run in `npm run torture`; the ordinary suite runs a tenth of them.
const FULL = process.env['TORTURE'] === 'full';
const RESTARTS = FULL ? 100 : 10;
const RACES = FULL ? 50 : 5;

/** A child process that tries the lock once, says `held` or `refused`, then holds it for `holdMs` (or until killed). */
function holder(path: string, holdMs: number): { child: ChildProcess; answer: Promise<string> } {
  const script = `
    const { CheckpointLock } = await import(${JSON.stringify(LOCK_MODULE)});
    let held = false;
    try { CheckpointLock.acquire(${JSON.stringify(path)}); held = true; } catch { }
    process.stdout.write(held ? 'held\\n' : 'refused\\n');
    setTimeout(() => process.exit(0), ${holdMs});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const answer = new Promise<string>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) res(out.trim());
    });
    child.on('exit', () => res(out.trim()));
    child.on('error', rej);
  });
  return { child, answer };
}

const exited = (c: ChildProcess) => new Promise<void>((res) => (c.exitCode !== null || c.signalCode !== null ? res() : c.once('exit', () => res())));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ds-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('CheckpointLock (an OS file lock the kernel releases)', () => {
  it(`a driver restarted at once after a SIGKILL takes the lock, ${RESTARTS} times in a row`, async () => {
    const path = join(dir, 'lock');
    let refused = 0;
    for (let i = 0; i < RESTARTS; i++) {
      const { child, answer } = holder(path, 60_000);
      expect(await answer).toBe('held');
      child.kill('SIGKILL');
      await exited(child);
      try {
        CheckpointLock.acquire(path).release();
      } catch {
        refused++;
      }
    }
    expect(refused).toBe(0);
  }, 120_000);

  it('a lock file naming this very pid (a restarted container) or half written does not block', () => {
    const path = join(dir, 'lock');
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), since: 'before the restart' }));
    CheckpointLock.acquire(path).release();
    writeFileSync(path, '{"pid": 12');
    CheckpointLock.acquire(path).release();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a second holder in the same process, naming the holder, and frees it on release', () => {
    const path = join(dir, 'lock');
    const first = CheckpointLock.acquire(path);
    expect(() => CheckpointLock.acquire(path)).toThrow(new RegExp(`checkpoint is in use: .*lock is held by process ${process.pid} on ${hostname()}`));
    first.release();
    CheckpointLock.acquire(path).release();
  });

  it(`two drivers racing for one checkpoint: exactly one gets it, ${RACES} times`, async () => {
    const tally = { one: 0, other: 0 };
    for (let i = 0; i < RACES; i++) {
      const path = join(dir, `lock-${i}`);
      // Each holds until both have answered: a fixed hold time lets a slow second start (a loaded machine) find the lock free.
      const a = holder(path, 60_000);
      const b = holder(path, 60_000);
      const answers = await Promise.all([a.answer, b.answer]);
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await Promise.all([exited(a.child), exited(b.child)]);
      if (answers.filter((x) => x === 'held').length === 1 && answers.includes('refused')) tally.one++;
      else tally.other++;
    }
    expect(tally).toEqual({ one: RACES, other: 0 });
  }, 120_000);
});
