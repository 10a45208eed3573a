import { statSync } from 'node:fs';
import { userError } from '../errors.js';
import type { RawRecordBatch } from '../source/source.js';
import { ChunkReader } from './chunk-reader.js';
import { BAD_CRC, INCOMPLETE, readI32, readOffset, readU32, recordAt } from './record-codec.js';
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
      const start =
        cached && cached.base === seg.base && cached.position <= reader.size ? cached : seekStart(seg, reader, Infinity);
      const end = findEnd(seg, reader, start, true);
      this.tail = { base: seg.base, ...end };
      return end.offset;
    } finally {
      reader.close();
    }
  }

  /** Exactly the records with offsets in `[from, until)`. */
  read(fromBig: bigint, untilBig: bigint): RawRecordBatch {
    const segments = listSegments(this.dir);
    const start = segments[0]?.base ?? 0;
    const from = Number(fromBig);
    const until = Number(untilBig);
    if (untilBig < fromBig) throw userError(`cannot read ${this.where()} from ${from} until ${until}: until is before from`);
    if (from < start) {
      throw userError(`cannot read ${this.where()} from offset ${from}: the partition starts at ${start}`, `read from ${start} or later`);
    }
    const end = from === until ? until : this.endOf(segments);
    if (until > end) {
      throw userError(`cannot read ${this.where()} until offset ${until}: the partition ends at ${end}`, `read until ${end} at most`);
    }
    const out = new BatchBuilder(until - from);
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

/** Column arrays of the batch being read. */
class BatchBuilder {
  readonly timestamps: Float64Array;
  readonly keys: (Uint8Array | null)[];
  readonly values: (Uint8Array | null)[];
  readonly headers: (ReadonlyArray<readonly [string, Uint8Array]> | null)[];
  n = 0;

  constructor(readonly count: number) {
    this.timestamps = new Float64Array(count);
    this.keys = new Array<Uint8Array | null>(count);
    this.values = new Array<Uint8Array | null>(count);
    this.headers = new Array<ReadonlyArray<readonly [string, Uint8Array]> | null>(count);
  }

  finish(topic: string, partition: number, from: number): RawRecordBatch {
    const offsets = new BigInt64Array(this.count);
    // Offsets are contiguous and checked while reading; fill them without one BigInt per record.
    if (LITTLE_ENDIAN) {
      const words = new Uint32Array(offsets.buffer);
      for (let i = 0; i < this.count; i++) {
        const o = from + i;
        words[2 * i] = o % 0x1_0000_0000;
        words[2 * i + 1] = Math.floor(o / 0x1_0000_0000);
      }
    } else {
      for (let i = 0; i < this.count; i++) offsets[i] = BigInt(from + i);
    }
    return { topic, partition, count: this.count, offsets, timestamps: this.timestamps, keys: this.keys, values: this.values, headers: this.headers };
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Append the records of `seg` with offsets in `[next, until)` to `out`; returns the offset after the last
 * record taken (the segment's end offset when the range continues in the next segment).
 */
function collect(seg: SegmentRef, next: number, until: number, out: BatchBuilder): number {
  const reader = new ChunkReader(seg.logFile);
  try {
    const start = seekStart(seg, reader, next);
    let pos = start.position;
    let offset = start.offset;
    let need = 0;
    while (offset < until && reader.load(pos, need)) {
      const buf = reader.buf;
      const lim = reader.limit;
      const ab = buf.buffer;
      const base = buf.byteOffset;
      const view = new DataView(ab, base, lim);
      let p = 0;
      while (offset < until) {
        const size = recordAt(buf, p, lim, offset >= next);
        if (size < 0) {
          if (size === INCOMPLETE && reader.bufPos + lim < reader.size) break; // the chunk ends, not the file
          if (size === INCOMPLETE && p === lim) return offset; // end of this segment; the caller moves on
          throw corrupt(seg.logFile, pos + p, offset, size === BAD_CRC ? 'checksum mismatch' : size === INCOMPLETE ? 'a record runs past the end of the segment' : 'a record has an impossible length');
        }
        if (readOffset(buf, p) !== offset) {
          throw corrupt(seg.logFile, pos + p, offset, `record carries offset ${readOffset(buf, p)} where ${offset} was expected`);
        }
        if (offset >= next && !decodeInto(out, buf, view, p, p + size)) {
          throw corrupt(seg.logFile, pos + p, offset, 'record fields do not fit its length');
        }
        offset++;
        p += size;
      }
      // A record larger than the chunk is loaded whole next time round.
      need = p === 0 ? 4 + readU32(buf, 0) : 0;
      pos += p;
    }
    return offset;
  } finally {
    reader.close();
  }
}

/** Decode the checksum-valid record at `buf[p, end)` into the next row of `out`; false if its fields do not fit. */
function decodeInto(out: BatchBuilder, buf: Buffer, view: DataView, p: number, end: number): boolean {
  const ab = buf.buffer;
  const base = buf.byteOffset;
  const i = out.n;
  out.timestamps[i] = view.getFloat64(p + 16, true);
  let q = p + 24;
  let len = readI32(buf, q);
  q += 4;
  if (len >= 0) {
    if (len > end - q) return false;
    out.keys[i] = new Uint8Array(ab, base + q, len);
    q += len;
  } else {
    out.keys[i] = null;
  }
  if (len < -1 || q + 4 > end) return false;
  len = readI32(buf, q);
  q += 4;
  if (len >= 0) {
    if (len > end - q) return false;
    out.values[i] = new Uint8Array(ab, base + q, len);
    q += len;
  } else {
    out.values[i] = null;
  }
  if (len < -1 || q + 4 > end) return false;
  const headerCount = readU32(buf, q);
  q += 4;
  if (headerCount === 0) {
    out.headers[i] = null;
    if (q !== end) return false;
  } else {
    const headers = readHeaders(buf, q, end, headerCount);
    if (!headers) return false;
    out.headers[i] = headers;
  }
  out.n = i + 1;
  return true;
}

/** The headers of a record from `buf[q]` to `end`; undefined when they do not fit exactly. */
function readHeaders(buf: Buffer, q: number, end: number, count: number): (readonly [string, Uint8Array])[] | undefined {
  const headers: (readonly [string, Uint8Array])[] = [];
  for (let h = 0; h < count; h++) {
    if (q + 2 > end) return undefined;
    const nameLen = buf[q]! | (buf[q + 1]! << 8);
    const nameEnd = q + 2 + nameLen;
    if (nameEnd + 4 > end) return undefined;
    const valueLen = readU32(buf, nameEnd);
    const valueEnd = nameEnd + 4 + valueLen;
    if (valueEnd > end) return undefined;
    headers.push([buf.toString('utf8', q + 2, nameEnd), new Uint8Array(buf.buffer, buf.byteOffset + nameEnd + 4, valueLen)]);
    q = valueEnd;
  }
  return q === end ? headers : undefined;
}
