import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError, userError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';

/** `<dir>/log.json`: what makes a directory a log. Written whole (temp + fsync + rename). */
export interface LogMeta {
  readonly format: 'duckstream-log';
  readonly version: 1;
  readonly partitions: number;
  /** A segment is rolled once the next batch would take it past this size. */
  readonly segmentBytes: number;
  /** An offset index entry is written every this many bytes of log. */
  readonly indexIntervalBytes: number;
  readonly createdAt: string;
}

export const LOG_FORMAT_VERSION = 1;
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_INDEX_INTERVAL_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;
export const MAX_PARTITIONS = 10_000;

export function metaFile(dir: string): string {
  return join(dir, 'log.json');
}

/** The log's metadata, or undefined when `dir` has no log.json. */
export function readMeta(dir: string): LogMeta | undefined {
  const file = metaFile(dir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  let meta: Partial<LogMeta>;
  try {
    meta = JSON.parse(text) as Partial<LogMeta>;
  } catch (err) {
    throw new CorruptFileError(file, `not valid JSON (${(err as Error).message})`, 'restore log.json from a copy');
  }
  if (meta.format !== 'duckstream-log' || typeof meta.version !== 'number') {
    throw new CorruptFileError(file, 'not a duckstream log description (no "format": "duckstream-log")');
  }
  if (meta.version > LOG_FORMAT_VERSION) {
    throw userError(`${file} has format version ${meta.version}; this duckstream reads version ${LOG_FORMAT_VERSION}`, 'upgrade duckstream');
  }
  if (!isCount(meta.partitions, MAX_PARTITIONS) || !isCount(meta.segmentBytes, MAX_SEGMENT_BYTES) || !isCount(meta.indexIntervalBytes, MAX_SEGMENT_BYTES)) {
    throw new CorruptFileError(file, 'partitions, segmentBytes or indexIntervalBytes is missing or out of range');
  }
  return meta as LogMeta;
}

export function writeMeta(dir: string, meta: LogMeta): void {
  writeFileAtomic(metaFile(dir), JSON.stringify(meta, null, 2) + '\n');
}

export function isCount(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= max;
}
