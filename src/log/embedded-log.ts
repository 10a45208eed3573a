import { mkdirSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { userError } from '../errors.js';
import type { RawRecordBatch } from '../source/source.js';
import {
  DEFAULT_INDEX_INTERVAL_BYTES,
  DEFAULT_SEGMENT_BYTES,
  isCount,
  LOG_FORMAT_VERSION,
  MAX_PARTITIONS,
  MAX_SEGMENT_BYTES,
  metaFile,
  readMeta,
  writeMeta,
  type LogMeta,
} from './log-meta.js';
import { PartitionAppender } from './partition-appender.js';
import { PartitionReader, type PartitionInfo } from './partition-reader.js';
import type { AppendRecord, FramedRecords } from './record-codec.js';
import type { RawRecordColumns } from './record-columns.js';

export interface CreateLogOptions {
  partitions: number;
  /** Roll to a new segment file past this size; default 64 MiB. */
  segmentBytes?: number;
  /** Bytes of log between offset index entries; default 4 KiB. */
  indexIntervalBytes?: number;
}

/** Create a log directory (it may exist if empty). Refuses an existing log or a non-empty directory. */
export async function createLog(dir: string, opts: CreateLogOptions): Promise<EmbeddedLog> {
  const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const indexIntervalBytes = opts.indexIntervalBytes ?? DEFAULT_INDEX_INTERVAL_BYTES;
  if (!isCount(opts.partitions, MAX_PARTITIONS)) {
    throw userError(`partitions must be a whole number from 1 to ${MAX_PARTITIONS}, got ${opts.partitions}`);
  }
  if (!isCount(segmentBytes, MAX_SEGMENT_BYTES) || !isCount(indexIntervalBytes, MAX_SEGMENT_BYTES)) {
    throw userError(`segmentBytes and indexIntervalBytes must be whole numbers from 1 to ${MAX_SEGMENT_BYTES}`);
  }
  if (readMeta(dir)) throw userError(`${dir} is already a log`, `open it, or pick another directory`);
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) throw userError(`${dir} is not empty and not a log`, 'create the log in a new or empty directory');
  for (let p = 0; p < opts.partitions; p++) mkdirSync(join(dir, String(p)), { recursive: true });
  const meta: LogMeta = {
    format: 'duckstream-log',
    version: LOG_FORMAT_VERSION,
    partitions: opts.partitions,
    segmentBytes,
    indexIntervalBytes,
    createdAt: new Date().toISOString(),
  };
  writeMeta(dir, meta); // last: a directory is a log once log.json exists
  return new EmbeddedLog(dir, meta);
}

export async function openLog(dir: string): Promise<EmbeddedLog> {
  const meta = readMeta(dir);
  if (!meta) {
    throw userError(`${dir} is not a duckstream log (no ${metaFile(dir)})`, `create it with: duckstream log create ${dir} --partitions N`);
  }
  return new EmbeddedLog(dir, meta);
}

/**
 * An embedded partitioned log (docs/architecture.md#connector-contract): a directory with log.json and one sub-directory of segment files
 * per partition. Reads take no locks and may run while other processes append; appends to a partition take
 * that partition's append lock on first use and hold it until `close()`.
 */
export class EmbeddedLog {
  readonly dir: string;
  /** The directory's name. */
  readonly topic: string;
  private meta: LogMeta;
  private readonly readers = new Map<number, PartitionReader>();
  private readonly appenders = new Map<number, Promise<PartitionAppender>>();
  private closed = false;

  constructor(dir: string, meta: LogMeta) {
    this.dir = dir;
    this.topic = basename(resolve(dir));
    this.meta = meta;
  }

  /** Number of partitions, re-read from log.json so partitions added by another process are seen. */
  partitionCount(): number {
    this.meta = readMeta(this.dir) ?? this.meta;
    return this.meta.partitions;
  }

  /** Grow the log to `total` partitions (never shrinks; a smaller or equal total is a no-op). */
  async addPartitions(total: number): Promise<void> {
    if (!isCount(total, MAX_PARTITIONS)) throw userError(`partitions must be a whole number from 1 to ${MAX_PARTITIONS}, got ${total}`);
    const current = this.partitionCount();
    if (total <= current) return;
    for (let p = current; p < total; p++) mkdirSync(join(this.dir, String(p)), { recursive: true });
    this.meta = { ...this.meta, partitions: total };
    writeMeta(this.dir, this.meta);
  }

  startOffset(p: number): bigint {
    return BigInt(this.reader(p).startOffset());
  }

  /** Offset after the last complete record of partition `p`. */
  endOffset(p: number): bigint {
    return BigInt(this.reader(p).endOffset());
  }

  describe(): PartitionInfo[] {
    const out: PartitionInfo[] = [];
    const count = this.partitionCount();
    for (let p = 0; p < count; p++) out.push(this.reader(p).info());
    return out;
  }

  /** Exactly the records of partition `p` with offsets in `[from, until)`; values are views into read buffers. */
  read(p: number, from: bigint, until: bigint): RawRecordBatch {
    return this.reader(p).read(from, until);
  }

  /**
   * The same records as `read`, as positions into the bytes read instead of one view per key and value:
   * several times faster for large ranges, since views cost more in garbage collection than parsing does.
   */
  readColumns(p: number, from: bigint, until: bigint): RawRecordColumns {
    return this.reader(p).readColumns(from, until);
  }

  /** Append `records` to partition `p` with one write; resolves once they are fsynced. */
  async append(p: number, records: readonly AppendRecord[]): Promise<{ baseOffset: bigint; count: number }> {
    return (await this.appender(p)).append(records);
  }

  /**
   * Append records framed by the caller (record-codec's `frameKeylessRecord`) to partition `p`: offsets and CRCs
   * are filled in place, then the bytes are written as they are, with one write; resolves once fsynced.
   */
  async appendFramed(p: number, records: FramedRecords): Promise<{ baseOffset: bigint; count: number }> {
    return (await this.appender(p)).appendFramed(records);
  }

  /** Release the append locks. Reading still works afterwards; appending does not. */
  async close(): Promise<void> {
    this.closed = true;
    const appenders = [...this.appenders.values()];
    this.appenders.clear();
    for (const a of appenders) await (await a.catch(() => undefined))?.close();
  }

  private checkPartition(p: number): void {
    if (!Number.isInteger(p) || p < 0 || (p >= this.meta.partitions && p >= this.partitionCount())) {
      throw userError(
        `log ${this.dir} has no partition ${p} (it has ${this.meta.partitions})`,
        `use a partition from 0 to ${this.meta.partitions - 1}, or add partitions`,
      );
    }
  }

  private reader(p: number): PartitionReader {
    this.checkPartition(p);
    let r = this.readers.get(p);
    if (!r) {
      r = new PartitionReader(join(this.dir, String(p)), this.topic, p);
      this.readers.set(p, r);
    }
    return r;
  }

  private appender(p: number): Promise<PartitionAppender> {
    if (this.closed) throw userError(`cannot append to ${this.dir}: the log handle was closed`, 'open the log again');
    this.checkPartition(p);
    let a = this.appenders.get(p);
    if (!a) {
      const dir = join(this.dir, String(p));
      mkdirSync(dir, { recursive: true });
      a = PartitionAppender.open(dir, `partition ${p} of log ${this.dir}`, {
        segmentBytes: this.meta.segmentBytes,
        indexIntervalBytes: this.meta.indexIntervalBytes,
      });
      this.appenders.set(p, a);
      a.catch(() => this.appenders.delete(p));
    }
    return a;
  }
}
