import { CorruptFileError } from '../errors.js';
import { ChunkReader } from './chunk-reader.js';
import { lastEntry, lookup, readIndex, type IndexEntry } from './offset-index.js';
import { CrcRun } from './crc32c.js';
import { BAD_CRC, BAD_LENGTH, INCOMPLETE, readOffset, readU32, recordAt } from './record-codec.js';
import type { SegmentRef } from './segment-files.js';

/** A record boundary in a segment: file position and the offset of the record that starts there. */
export interface SegmentPosition {
  readonly position: number;
  readonly offset: number;
}

const FIX = 'restore the partition from a copy, or move the damaged segment and the ones after it out of the partition directory';

export function corrupt(file: string, position: number, offset: number, what: string): CorruptFileError {
  return new CorruptFileError(file, `${what} at byte ${position} (offset ${offset})`, FIX);
}

/**
 * Where to start scanning `seg` for `target` (or for its end, with `target = Infinity`): the last index entry
 * at or before it, if the record at that position really carries that offset and a valid checksum; the
 * segment start otherwise.
 */
export function seekStart(seg: SegmentRef, reader: ChunkReader, target: number): SegmentPosition {
  const entries = readIndex(seg.indexFile);
  const entry: IndexEntry | undefined = target === Infinity ? lastEntry(entries) : lookup(entries, Math.min(target - seg.base, 0xffff_ffff));
  if (entry && entry.position > 0 && entry.position < reader.size && seg.base + entry.relOffset <= target) {
    const head = reader.readAt(entry.position, 4);
    if (head.length === 4) {
      const bytes = reader.readAt(entry.position, 4 + readU32(head, 0));
      const offset = seg.base + entry.relOffset;
      if (recordAt(bytes, 0, bytes.length, true) > 0 && readOffset(bytes, 0) === offset) {
        return { position: entry.position, offset };
      }
    }
  }
  return { position: 0, offset: seg.base };
}

/**
 * Scan `seg` from `start` to the end of its last whole, checksum-valid record.
 *
 * In the newest segment (`newest`), a bad record that is the last thing in the file (runs past the end, fails
 * its checksum and ends the file, or is followed by zeros only) is a torn or in-progress write: "not yet
 * written", the scan ends before it. Anything else that is not a valid record with the expected offset is
 * corruption. `onRecord` sees every record scanned (used to rebuild an index).
 */
export function findEnd(
  seg: SegmentRef,
  reader: ChunkReader,
  start: SegmentPosition,
  newest: boolean,
  onRecord?: (offset: number, position: number) => void,
): SegmentPosition {
  return onRecord ? findEndEach(seg, reader, start, newest, onRecord) : findEndByRuns(seg, reader, start, newest);
}

/**
 * `findEnd` checking each chunk's records with one CRC over all of them (crc32c.ts `CrcRun`, as reads do) instead
 * of one CRC per record: polling the end of a log being appended to (every batch's plan) checks every new record
 * once. Should a chunk's run miss, the chunk is scanned again record by record (`findEndEach`), which finds the bad
 * record and judges it (torn tail or corruption) exactly as before; a record that stops the run for another reason
 * is judged here by the same rules, its own CRC checked first as the record-by-record scan would.
 */
function findEndByRuns(seg: SegmentRef, reader: ChunkReader, start: SegmentPosition, newest: boolean): SegmentPosition {
  const run = new CrcRun();
  let pos = start.position;
  let offset = start.offset;
  let need = 0;
  while (reader.load(pos, need)) {
    const buf = reader.buf;
    const lim = reader.limit;
    const chunkOffset = offset;
    run.reset();
    let p = 0;
    let size: number;
    for (;;) {
      size = recordAt(buf, p, lim, false);
      if (size <= 0 || readOffset(buf, p) !== offset) break;
      run.add(buf, p, p + size);
      offset++;
      p += size;
    }
    if (!run.matches(buf)) return findEndEach(seg, reader, { position: pos, offset: chunkOffset }, newest);
    if (size > 0) size = recordAt(buf, p, lim, true);
    if (size > 0) throw corrupt(seg.logFile, pos + p, offset, `record carries offset ${readOffset(buf, p)} where ${offset} was expected`);
    if (size === INCOMPLETE && reader.bufPos + lim < reader.size) {
      // the chunk ends, not the file; a record larger than the chunk is loaded whole next time round
      need = p === 0 ? 4 + readU32(buf, 0) : 0;
      pos += p;
      continue;
    }
    if (newest && isTornTail(reader, pos + p, size, buf, p, lim)) return { position: pos + p, offset };
    throw corrupt(seg.logFile, pos + p, offset, describeBad(size));
  }
  return { position: pos, offset };
}

/** `findEnd` checking each record's CRC on its own, and telling `onRecord` about each. */
function findEndEach(
  seg: SegmentRef,
  reader: ChunkReader,
  start: SegmentPosition,
  newest: boolean,
  onRecord?: (offset: number, position: number) => void,
): SegmentPosition {
  let pos = start.position;
  let offset = start.offset;
  let need = 0;
  while (reader.load(pos, need)) {
    const buf = reader.buf;
    const lim = reader.limit;
    let p = 0;
    for (;;) {
      const size = recordAt(buf, p, lim, true);
      if (size > 0) {
        if (readOffset(buf, p) !== offset) {
          throw corrupt(seg.logFile, pos + p, offset, `record carries offset ${readOffset(buf, p)} where ${offset} was expected`);
        }
        onRecord?.(offset, pos + p);
        offset++;
        p += size;
        continue;
      }
      if (size === INCOMPLETE && reader.bufPos + lim < reader.size) break; // the chunk ends, not the file
      if (newest && isTornTail(reader, pos + p, size, buf, p, lim)) return { position: pos + p, offset };
      throw corrupt(seg.logFile, pos + p, offset, describeBad(size));
    }
    // A record larger than the chunk is loaded whole next time round.
    need = p === 0 ? 4 + readU32(buf, 0) : 0;
    pos += p;
  }
  return { position: pos, offset };
}

function describeBad(status: number): string {
  if (status === INCOMPLETE) return 'a record runs past the end of the segment';
  if (status === BAD_LENGTH) return 'a record has an impossible length';
  if (status === BAD_CRC) return 'checksum mismatch';
  return 'a damaged record';
}

/** Is the bad record at file position `at` (buf[p]) the last thing in the file? */
function isTornTail(reader: ChunkReader, at: number, status: number, buf: Buffer, p: number, lim: number): boolean {
  if (status === INCOMPLETE) return true;
  if (status === BAD_CRC && at + 4 + readU32(buf, p) === reader.size) return true;
  return zerosFrom(reader, at, buf, p, lim);
}

function zerosFrom(reader: ChunkReader, at: number, buf: Buffer, p: number, lim: number): boolean {
  for (let i = p; i < lim; i++) if (buf[i] !== 0) return false;
  let pos = at + (lim - p);
  while (pos < reader.size) {
    const chunk = reader.readAt(pos, 1 << 20);
    if (chunk.length === 0) break;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) return false;
    pos += chunk.length;
  }
  return true;
}
