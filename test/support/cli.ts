import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve('dist/src/cli/main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI as a user would, in `cwd`, with optional stdin. */
export function duckstream(args: readonly string[], o: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: o.cwd, input: o.input, env: { ...process.env, ...o.env }, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start the CLI in the background (for SIGKILL and SIGINT tests). */
export function duckstreamBackground(args: readonly string[], o: { cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}
