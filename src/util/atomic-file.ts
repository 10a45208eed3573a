import { closeSync, fsyncSync, openSync, renameSync, writeSync, mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { withPath } from './io-failure.js';

export interface AtomicWriteOptions {
  /**
   * fsync the file before the rename and the directory after it (default true). Without fsync the write is still
   * all-or-nothing for a process crash (the rename is atomic and the page cache outlives the process), but a power
   * cut or kernel crash can lose it.
   */
  readonly fsync?: boolean;
  /** With fsync: also fsync the directory after the rename (default true; false when the caller does it later). */
  readonly fsyncDir?: boolean;
}

/** fsync a directory so that a rename or create inside it survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * fsync a file or directory on the libuv thread pool. Several of these in flight at once cost about one journal
 * commit on ext4/xfs (the kernel groups them), where the same fsyncs one after the other cost one each.
 */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The temp name `writeFileAtomic` uses for `path` (dot-prefixed, so never taken for an entry). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

/**
 * Write a whole file or nothing: temp file in the same directory, fsync, rename, fsync the directory.
 * A crash leaves either the old file or the new one, plus at most a stray `.tmp` file.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const sync = options.fsync ?? true;
  const dir = dirname(path);
  const tmp = tempPathFor(path);
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (err) {
    // The directory is created once, on the first write: no mkdir syscall on every call.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, 'w');
  }
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let written = 0;
    while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
    if (sync) fsyncSync(fd);
  } catch (err) {
    throw withPath(err, tmp);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (sync && (options.fsyncDir ?? true)) fsyncDir(dir);
}

/** Write `data` to `path` (no rename) and, if asked, fsync it: the first half of an atomic write done in parallel. */
export async function writeFileDurable(path: string, data: string | Uint8Array, sync: boolean): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    if (sync) await handle.sync();
  } catch (err) {
    throw withPath(err, path);
  } finally {
    await handle.close();
  }
}
