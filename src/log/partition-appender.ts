import { closeSync, constants, ftruncateSync, fsyncSync, openSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { externalError, userError } from '../errors.js';
import { fsyncDir } from '../util/atomic-file.js';
import { Mutex } from '../util/mutex.js';
import { AppendLock } from './append-lock.js';
import { ChunkReader } from './chunk-reader.js';
import { IndexBuilder } from './offset-index.js';
import { encodeBatch, sealFramed, type AppendRecord, type FramedRecords } from './record-codec.js';
import { listSegments, segmentRef, type SegmentRef } from './segment-files.js';
import { findEnd } from './segment-scan.js';

export interface AppenderOptions {
  readonly segmentBytes: number;
  readonly indexIntervalBytes: number;
}

/** The segment being appended to. */
interface Active {
  readonly seg: SegmentRef;
  readonly log: FileHandle;
  readonly index: FileHandle;
  readonly indexBuilder: IndexBuilder;
  size: number;
}

/**
 * The single writer of a partition. Opening takes the partition's append lock, then recovers: it scans the
 * newest segment, truncates a torn tail left by a crash and rewrites that segment's index. `append` writes a
 * whole batch with one write and fsyncs before it resolves; appends are serialised.
 */
export class PartitionAppender {
  private readonly mutex = new Mutex();
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly lock: AppendLock,
    private readonly options: AppenderOptions,
    private active: Active,
    private nextOffset: number,
  ) {}

  static async open(dir: string, what: string, options: AppenderOptions): Promise<PartitionAppender> {
    const lock = AppendLock.acquire(join(dir, 'append.lock'), what);
    try {
      const segments = listSegments(dir);
      const newest = segments[segments.length - 1] ?? segmentRef(dir, 0);
      const { size, nextOffset, index } = recover(newest, options.indexIntervalBytes);
      const active = await openActive(newest, size, index, options.indexIntervalBytes);
      if (segments.length === 0) fsyncDir(dir);
      return new PartitionAppender(dir, lock, options, active, nextOffset);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** Offset the next appended record gets. */
  get endOffset(): number {
    return this.nextOffset;
  }

  async append(records: readonly AppendRecord[]): Promise<{ baseOffset: bigint; count: number }> {
    return this.mutex.lock(async () => {
      this.checkOpen();
      if (records.length === 0) return { baseOffset: BigInt(this.nextOffset), count: 0 };
      const batch = encodeBatch(records, this.nextOffset, Date.now());
      return this.write(batch.bytes, batch.starts, records.length);
    });
  }

  /**
   * Append records the caller framed itself (record-codec's `frameKeylessRecord`): this fills in offsets and
   * CRCs in place, then writes `records.bytes` as is. No object or copy per record: the fast path for producers
   * that generate values straight into a buffer.
   */
  async appendFramed(records: FramedRecords): Promise<{ baseOffset: bigint; count: number }> {
    return this.mutex.lock(async () => {
      this.checkOpen();
      if (records.count === 0) return { baseOffset: BigInt(this.nextOffset), count: 0 };
      sealFramed(records, this.nextOffset);
      return this.write(records.bytes, records.starts, records.count);
    });
  }

  private checkOpen(): void {
    if (this.closed) throw userError('cannot append: the log was closed', 'open the log again');
  }

  /** Write `count` sealed records (offsets from nextOffset) with one write, fsync, then index them. Under the mutex. */
  private async write(bytes: Uint8Array, starts: ArrayLike<number>, count: number): Promise<{ baseOffset: bigint; count: number }> {
    const baseOffset = this.nextOffset;
    if (this.active.size > 0 && this.active.size + bytes.byteLength > this.options.segmentBytes) await this.roll();
    const active = this.active;
    try {
      await writeAll(active.log, bytes, active.size);
      await active.log.datasync();
    } catch (err) {
      await active.log.truncate(active.size).catch(() => undefined);
      throw externalError(`append to ${active.seg.logFile} failed: ${(err as Error).message}`, true, err);
    }
    const rel = baseOffset - active.seg.base;
    for (let i = 0; i < count; i++) active.indexBuilder.add(rel + i, active.size + starts[i]!);
    active.size += bytes.byteLength;
    this.nextOffset += count;
    const entries = active.indexBuilder.take();
    // The index is an accelerator checked on use: no fsync, and a failed write only costs seek time.
    if (entries.length > 0) await active.index.appendFile(entries).catch(() => undefined);
    return { baseOffset: BigInt(baseOffset), count };
  }

  /** Start a new segment named after the next offset. */
  private async roll(): Promise<void> {
    const seg = segmentRef(this.dir, this.nextOffset);
    const next = await openActive(seg, 0, Buffer.alloc(0), this.options.indexIntervalBytes);
    await closeActive(this.active);
    this.active = next;
    fsyncDir(this.dir);
  }

  async close(): Promise<void> {
    await this.mutex.lock(async () => {
      if (this.closed) return;
      this.closed = true;
      await closeActive(this.active);
      this.lock.release();
    });
  }
}

/**
 * Scan the newest segment to its last whole record, cut off a torn tail, and rebuild its index.
 * Returns the segment's size after truncation, the next offset and the index bytes.
 */
function recover(seg: SegmentRef, intervalBytes: number): { size: number; nextOffset: number; index: Buffer } {
  let reader: ChunkReader;
  try {
    reader = new ChunkReader(seg.logFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { size: 0, nextOffset: seg.base, index: Buffer.alloc(0) };
    throw err;
  }
  const builder = new IndexBuilder(intervalBytes);
  let end;
  try {
    end = findEnd(seg, reader, { position: 0, offset: seg.base }, true, (offset, position) => builder.add(offset - seg.base, position));
  } finally {
    reader.close();
  }
  if (end.position < reader.size) {
    process.emitWarning(
      `${seg.logFile}: cut ${reader.size - end.position} byte(s) of an incomplete or checksum-failing last record at byte ${end.position} (offset ${end.offset}), left by an interrupted append`,
      { code: 'DUCKSTREAM_LOG_TORN_TAIL' },
    );
    const fd = openSync(seg.logFile, 'r+');
    try {
      ftruncateSync(fd, end.position);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  return { size: end.position, nextOffset: end.offset, index: builder.take() };
}

async function openActive(seg: SegmentRef, size: number, index: Buffer, intervalBytes: number): Promise<Active> {
  writeFileSync(seg.indexFile, index);
  const log = await open(seg.logFile, constants.O_RDWR | constants.O_CREAT); // writes are positional, at `size`
  const indexHandle = await open(seg.indexFile, 'a');
  const lastIndexed = index.length >= 8 ? index.readUInt32LE(index.length - 4) : 0;
  return { seg, log, index: indexHandle, indexBuilder: new IndexBuilder(intervalBytes, lastIndexed), size };
}

async function closeActive(active: Active): Promise<void> {
  await active.log.close();
  await active.index.close();
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
}
