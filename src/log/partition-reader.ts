import { statSync } from 'node:fs';
import { userError } from '../errors.js';
import type { RawRecordBatch } from '../source/source.js';
import { ChunkReader } from './chunk-reader.js';
import { CrcRun } from './crc32c.js';
import { BAD_CRC, BAD_LENGTH, INCOMPLETE, MAX_LENGTH, MIN_LENGTH, readOffset, readU32, recordAt } from './record-codec.js';
import { ColumnsBuilder, toRecordBatch, type RawRecordColumns } from './record-columns.js';
import { listSegments, segmentFor, type SegmentRef } from './segment-files.js';
import { corrupt, findEnd, seekStart, type SegmentPosition } from './segment-scan.js';

export interface PartitionInfo {
  readonly partition: number;
  readonly startOffset: bigint;
  /** Offset after the last complete record. */
  readonly endOffset: bigint;
  /** Bytes in the segment files, including a torn tail if there is one. */
  readonly bytes: number;
  readonly segments: number;
}

/**
 * Reads one partition directory. Takes no lock: it only ever returns whole, checksum-valid records, so
 * another process may append meanwhile. Remembers where the newest segment's last whole record ended, so
 * polling `endOffset()` only scans what was appended since.
 */
export class PartitionReader {
  private tail: (SegmentPosition & { base: number }) | undefined;

  constructor(
    readonly dir: string,
    readonly topic: string,
    readonly partition: number,
  ) {}

  startOffset(): number {
    return listSegments(this.dir)[0]?.base ?? 0;
  }

  endOffset(): number {
    return this.endOf(listSegments(this.dir));
  }

  info(): PartitionInfo {
    const segments = listSegments(this.dir);
    let bytes = 0;
    for (const s of segments) bytes += statSync(s.logFile, { throwIfNoEntry: false })?.size ?? 0;
    return {
      partition: this.partition,
      startOffset: BigInt(segments[0]?.base ?? 0),
      endOffset: BigInt(this.endOf(segments)),
      bytes,
      segments: segments.length,
    };
  }

  private endOf(segments: readonly SegmentRef[]): number {
    const seg = segments[segments.length - 1];
    if (!seg) return 0;
    let reader: ChunkReader;
    try {
      reader = new ChunkReader(seg.logFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.endOf(listSegments(this.dir)); // raced a delete
      throw err;
    }
    try {
      const cached = this.tail;
      const start = cached && cached.base === seg.base && cached.position <= reader.size ? cached : seekStart(seg, reader, Infinity);
      const end = findEnd(seg, reader, start, true);
      this.tail = { base: seg.base, ...end };
      return end.offset;
    } finally {
      reader.close();
    }
  }

  /** Exactly the records with offsets in `[from, until)`, as views. */
  read(from: bigint, until: bigint): RawRecordBatch {
    return toRecordBatch(this.readColumns(from, until));
  }

  /** Exactly the records with offsets in `[from, until)`, as positions in the bytes read. */
  readColumns(fromBig: bigint, untilBig: bigint): RawRecordColumns {
    const segments = listSegments(this.dir);
    const start = segments[0]?.base ?? 0;
    const from = Number(fromBig);
    const until = Number(untilBig);
    if (untilBig < fromBig) throw userError(`cannot read ${this.where()} from ${from} until ${until}: until is before from`);
    if (from < start) {
      throw userError(`cannot read ${this.where()} from offset ${from}: the partition starts at ${start}`, `read from ${start} or later`);
    }
    const end = this.endOf(segments);
    if (until > end) {
      throw userError(`cannot read ${this.where()} until offset ${until}: the partition ends at ${end}`, `read until ${end} at most`);
    }
    const out = new ColumnsBuilder(until - from);
    let next = from;
    for (let i = segmentFor(segments, from); next < until; i++) {
      const seg = segments[i];
      if (!seg || seg.base > next) {
        const file = seg?.logFile ?? segments[i - 1]?.logFile ?? this.dir;
        throw corrupt(file, 0, next, seg ? `segment starts at offset ${seg.base}, leaving a gap after ${next}` : 'records are missing');
      }
      next = collect(seg, next, until, out);
    }
    return out.finish(this.topic, this.partition, from);
  }

  private where(): string {
    return `partition ${this.partition} of log ${this.dir}`;
  }
}

/**
 * Append the records of `seg` with offsets in `[next, until)` to `out`; returns the offset after the last
 * record taken (the segment's end offset when the range continues in the next segment).
 *
 * The CRCs of the records taken are checked per chunk as one run (crc32c.ts `CrcRun`), before anything leaves
 * this function: a record whose CRC fails is reported as before, with its position and offset, and before any
 * later structural damage.
 */
function collect(seg: SegmentRef, next: number, until: number, out: ColumnsBuilder): number {
  const reader = new ChunkReader(seg.logFile);
  const run = new CrcRun();
  try {
    const start = seekStart(seg, reader, next);
    let pos = start.position;
    let offset = start.offset;
    let need = 0;
    while (offset < until && reader.load(pos, need)) {
      const buf = reader.buf;
      const lim = reader.limit;
      const view = new DataView(buf.buffer, buf.byteOffset, lim);
      let p = 0;
      /** Where this chunk's run of records to check starts, and the offset of its first record. */
      let runStart = -1;
      let runOffset = 0;
      const checkRun = (): void => {
        if (runStart >= 0 && !run.matches(buf)) throw firstBadCrc(seg, buf, runStart, run.end, pos, runOffset);
        run.reset();
        runStart = -1;
      };
      while (offset < until) {
        const size = recordSize(view, p, lim);
        if (size < 0) {
          checkRun();
          if (size === INCOMPLETE && reader.bufPos + lim < reader.size) break; // the chunk ends, not the file
          if (size === INCOMPLETE && p === lim) return offset; // end of this segment; the caller moves on
          throw corrupt(seg.logFile, pos + p, offset, size === INCOMPLETE ? 'a record runs past the end of the segment' : 'a record has an impossible length');
        }
        if (view.getUint32(p + 8, true) + view.getUint32(p + 12, true) * 0x1_0000_0000 !== offset) {
          checkRun();
          throw corrupt(seg.logFile, pos + p, offset, `record carries offset ${readOffset(buf, p)} where ${offset} was expected`);
        }
        if (offset >= next) {
          if (runStart < 0) ((runStart = p), (runOffset = offset));
          run.add(buf, p, p + size);
          if (!out.add(buf, view, p, p + size)) {
            checkRun();
            throw corrupt(seg.logFile, pos + p, offset, 'record fields do not fit its length');
          }
        }
        offset++;
        p += size;
      }
      checkRun();
      // A record larger than the chunk is loaded whole next time round.
      need = p === 0 ? 4 + readU32(buf, 0) : 0;
      pos += p;
    }
    return offset;
  } finally {
    reader.close();
  }
}

/** `recordAt(buf, p, lim, false)` read through a DataView over `buf[0, lim)` (one int32 read, not four bytes). */
function recordSize(view: DataView, p: number, lim: number): number {
  if (lim - p < 4) return INCOMPLETE;
  const length = view.getUint32(p, true);
  if (length < MIN_LENGTH || length > MAX_LENGTH) return BAD_LENGTH;
  return p + 4 + length > lim ? INCOMPLETE : length + 4;
}

/** The first record of `buf[from, to)` whose CRC fails, as the error to throw (the run said there is one). */
function firstBadCrc(seg: SegmentRef, buf: Buffer, from: number, to: number, chunkPos: number, offset: number): Error {
  for (let p = from; p < to; offset++) {
    const size = recordAt(buf, p, to, true);
    if (size === BAD_CRC) return corrupt(seg.logFile, chunkPos + p, offset, 'checksum mismatch');
    if (size < 0) break;
    p += size;
  }
  return corrupt(seg.logFile, chunkPos + from, offset, 'checksum mismatch in the records from here');
}
