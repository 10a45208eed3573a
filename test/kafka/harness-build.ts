/** Builds test/kafka/harness/mock_broker.c (no vitest imports: used by global-setup). */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const HARNESS_SOURCE = join(HERE, 'harness', 'mock_broker.c');
/** Gitignored build output. */
export const HARNESS_BINARY = join(HERE, 'harness', 'mock-broker');
export const INSTALL_HINT = 'install librdkafka-dev and kcat: apt-get install -y librdkafka-dev kcat';

function binaryIsFresh(): boolean {
  if (!existsSync(HARNESS_BINARY)) return false;
  return statSync(HARNESS_BINARY).mtimeMs >= statSync(HARNESS_SOURCE).mtimeMs;
}

/**
 * Builds the harness if it is missing or older than its source. Safe against
 * concurrent callers (compiles to a unique temp file, then renames). Throws
 * with gcc's output on failure.
 */
export function buildHarness(): string {
  if (binaryIsFresh()) return HARNESS_BINARY;
  const tmp = `${HARNESS_BINARY}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', tmp, HARNESS_SOURCE, '-lrdkafka'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    const detail = r.error ? r.error.message : (r.stderr || r.stdout || `gcc exit ${String(r.status)}`).trim();
    throw new Error(`building ${HARNESS_BINARY} failed (${INSTALL_HINT}): ${detail}`);
  }
  renameSync(tmp, HARNESS_BINARY);
  return HARNESS_BINARY;
}
