import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST_LOG_INDEX = join(ROOT, 'dist/src/log/index.js');
export const DIST_CLI = join(ROOT, 'dist/src/cli/main.js');

/** The sources the child processes run, compiled: ours plus what they import. */
function sources(): string[] {
  const dir = (d: string) =>
    readdirSync(join(ROOT, d))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `${d}/${f}`);
  return [...dir('src/log'), ...dir('src/util'), 'src/errors.ts', 'src/cli/log-commands.ts', 'src/cli/main.ts'];
}

function stale(): string[] {
  return sources().filter((src) => {
    const out = join(ROOT, 'dist', src.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, src)).mtimeMs;
  });
}

/**
 * Make sure dist/ holds an up-to-date build of the log and the CLI, for tests that spawn plain `node`.
 * Builds with `tsc -p .` (which emits even when other people's files have type errors) under a lock
 * directory, so test files running in parallel do not write dist/ at the same time.
 */
export async function ensureDist(): Promise<void> {
  if (stale().length === 0) return;
  const lock = join(tmpdir(), `duckstream-log-tsc-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`);
  for (let waited = 0; ; waited += 100) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 120_000 || Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 180_000) rmdirSync(lock);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    if (stale().length === 0) return;
    const r = spawnSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, encoding: 'utf8' });
    const left = stale();
    if (left.length > 0) throw new Error(`tsc did not produce fresh output for ${left.join(', ')}:\n${r.stdout}${r.stderr}`);
  } finally {
    rmdirSync(lock);
  }
}
