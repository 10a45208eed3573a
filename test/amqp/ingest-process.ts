/** `duckstream ingest` as a child process, and the landed log's values (AMQP landing tests and fault loops). */
import { spawn, type ChildProcess } from 'node:child_process';
import { openLog } from '../../src/log/index.js';
import { CLI } from '../support/cli.js';

export async function logValues(dir: string): Promise<string[]> {
  const log = await openLog(dir);
  const b = log.read(0, 0n, log.endOffset(0));
  await log.close();
  return Array.from({ length: b.count }, (_, i) => Buffer.from(b.values[i]!).toString('utf8'));
}

export function ingest(args: readonly string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'ingest', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
