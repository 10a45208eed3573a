import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** A segment of a partition: `<base offset, 20 digits>.log` plus its sparse index `<base>.index`. */
export interface SegmentRef {
  /** Offset of the first record in the segment. */
  readonly base: number;
  readonly logFile: string;
  readonly indexFile: string;
}

const SEGMENT_NAME = /^(\d{20})\.log$/;

export function segmentName(base: number): string {
  return String(base).padStart(20, '0');
}

export function segmentRef(partitionDir: string, base: number): SegmentRef {
  const name = segmentName(base);
  return { base, logFile: join(partitionDir, `${name}.log`), indexFile: join(partitionDir, `${name}.index`) };
}

/** The segments of a partition directory, oldest first (empty when the directory has none or does not exist). */
export function listSegments(partitionDir: string): SegmentRef[] {
  let names: string[];
  try {
    names = readdirSync(partitionDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const bases: number[] = [];
  for (const name of names) {
    const m = SEGMENT_NAME.exec(name);
    if (m) bases.push(Number(m[1]));
  }
  bases.sort((a, b) => a - b);
  return bases.map((base) => segmentRef(partitionDir, base));
}

/** Index in `segments` of the segment that holds `offset`: the last one whose base is ≤ offset (or -1). */
export function segmentFor(segments: readonly SegmentRef[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segments[mid]!.base <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
