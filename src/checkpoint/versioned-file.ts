import { readFileSync } from 'node:fs';
import { CorruptFileError } from '../errors.js';
import { writeFileAtomic, type AtomicWriteOptions } from '../util/atomic-file.js';
import { checksum } from '../util/crc.js';

/**
 * Checkpoint files are three lines: a version (`v1`), one line of JSON, and `crc32c:<hex>` of that JSON.
 * A missing, truncated or altered file is an error that names it; it is never skipped.
 */
export const FORMAT_VERSION = 'v1';

export function encodeVersioned(value: unknown): string {
  const json = JSON.stringify(value);
  return `${FORMAT_VERSION}\n${json}\ncrc32c:${checksum(json).toString(16).padStart(8, '0')}\n`;
}

export function decodeVersioned<T>(file: string, text: string): T {
  const lines = text.split('\n');
  const [version, json, sum] = lines;
  if (version !== FORMAT_VERSION) {
    throw new CorruptFileError(
      file,
      `unknown format version '${(version ?? '').slice(0, 20)}' (expected ${FORMAT_VERSION})`,
      'this checkpoint was written by another duckstream version or is damaged; restore it from a backup or start with a new --checkpoint',
    );
  }
  if (json === undefined || sum === undefined || !sum.startsWith('crc32c:')) {
    throw new CorruptFileError(
      file,
      'truncated file (no checksum line)',
      'restore the file from a backup, or delete it only if you know the batch it describes must be re-planned',
    );
  }
  const expected = checksum(json).toString(16).padStart(8, '0');
  if (sum.slice('crc32c:'.length) !== expected) {
    throw new CorruptFileError(
      file,
      `checksum mismatch (file says ${sum.slice(7)}, content has ${expected})`,
      'the file was altered or damaged; restore it from a backup',
    );
  }
  try {
    return JSON.parse(json) as T;
  } catch (err) {
    throw new CorruptFileError(file, `invalid JSON: ${(err as Error).message}`);
  }
}

export function writeVersioned(path: string, value: unknown, options: AtomicWriteOptions = {}): void {
  writeFileAtomic(path, encodeVersioned(value), options);
}

export function readVersioned<T>(path: string): T {
  return decodeVersioned<T>(path, readFileSync(path, 'utf8'));
}
