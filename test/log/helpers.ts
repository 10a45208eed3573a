import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh random directory under the OS temp dir; `cleanup()` removes it. */
export function tempDir(prefix = 'duckstream-log-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const text = (b: Uint8Array | null | undefined): string | null => (b == null ? null : Buffer.from(b).toString('utf8'));
