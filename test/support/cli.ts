import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const CLI = resolve('dist/src/cli/main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI as a user would, in `cwd`, with optional stdin. */
export function duckstream(args: readonly string[], o: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: o.cwd, input: o.input, env: { ...process.env, ...o.env }, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start the CLI in the background (for SIGKILL and SIGINT tests). */
export function duckstreamBackground(args: readonly string[], o: { cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Complete progress records in a checkpoint (a torn last line after a kill is not one). */
export function progressCount(checkpoint: string): number {
  const file = join(checkpoint, 'progress.ndjson');
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.endsWith('}')).length
    : 0;
}

/**
 * Start `duckstream <args>` `rounds` times; each time let it commit two more batches, wait a random moment
 * (0 to `maxDelayMs`), and SIGKILL it in the middle of whatever it is doing. A run that ends on its own before
 * the kill fails the test: the kills must land during the run. Returns a per-round log for failure messages.
 */
export async function killRepeatedly(
  args: readonly string[],
  checkpoint: string,
  o: { rounds: number; rand: () => number; maxDelayMs: number },
): Promise<string> {
  let log = '';
  for (let round = 0; round < o.rounds; round++) {
    const before = progressCount(checkpoint);
    const child = duckstreamBackground(args);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 30_000;
    while (progressCount(checkpoint) < before + 2 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, Math.floor(o.rand() * o.maxDelayMs)));
    if (child.exitCode !== null) throw new Error(`round ${round}: duckstream exited (${child.exitCode}) before it was killed:\n${log}${stderr}`);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    log += `round ${round}: progress records ${before} → ${progressCount(checkpoint)}; stderr: ${stderr.trim()}\n`;
  }
  return log;
}
