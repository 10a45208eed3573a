import { readFileSync } from 'node:fs';

/**
 * The sparse offset index of a segment: 8-byte entries (u32 offset relative to the segment base, u32 byte
 * position of that record in the segment file), little-endian, ascending, one every ~`intervalBytes` of log.
 *
 * The index only accelerates seeks. Whoever uses an entry checks that the record at that position really
 * has that offset (and a valid checksum), and falls back to scanning from the segment start otherwise, so
 * a missing, short or stale index costs time, never correctness.
 */
export const INDEX_ENTRY_BYTES = 8;

export interface IndexEntry {
  readonly relOffset: number;
  readonly position: number;
}

/** The whole entries of an index file (a torn trailing entry is ignored; a missing file has none). */
export function readIndex(file: string): Uint32Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Uint32Array(0);
    throw err;
  }
  const whole = Math.floor(bytes.length / INDEX_ENTRY_BYTES) * 2;
  const out = new Uint32Array(whole);
  for (let i = 0; i < whole; i++) out[i] = bytes.readUInt32LE(i * 4);
  return out;
}

/** The last entry whose relative offset is ≤ `relOffset` (entries are ascending), or undefined. */
export function lookup(entries: Uint32Array, relOffset: number): IndexEntry | undefined {
  let lo = 0;
  let hi = entries.length / 2 - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid * 2]! <= relOffset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found < 0 ? undefined : { relOffset: entries[found * 2]!, position: entries[found * 2 + 1]! };
}

/** The last entry of an index, or undefined. */
export function lastEntry(entries: Uint32Array): IndexEntry | undefined {
  const n = entries.length / 2;
  return n === 0 ? undefined : { relOffset: entries[n * 2 - 2]!, position: entries[n * 2 - 1]! };
}

/** Accumulates index entries while records are written; `take()` returns the bytes to append. */
export class IndexBuilder {
  private readonly pending: number[] = [];

  /** @param lastIndexed byte position of the last indexed record (0: the segment start counts as indexed). */
  constructor(
    private readonly intervalBytes: number,
    private lastIndexed = 0,
  ) {}

  /** Note a record about to be at `position` with `relOffset`; indexes it if far enough from the last entry. */
  add(relOffset: number, position: number): void {
    if (position - this.lastIndexed >= this.intervalBytes) {
      this.pending.push(relOffset, position);
      this.lastIndexed = position;
    }
  }

  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pending.length * 4);
    for (let i = 0; i < this.pending.length; i++) out.writeUInt32LE(this.pending[i]!, i * 4);
    this.pending.length = 0;
    return out;
  }
}
