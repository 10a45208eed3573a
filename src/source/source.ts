import type * as arrow from 'apache-arrow';
import type { OffsetRange, PartitionKey } from '../plan/offset-range.js';
import type { BatchCaps } from '../plan/plan-batch.js';
import type { ValueSchema } from './schema.js';

/**
 * Records of one partition as read from a log. Keys and values come either as one view per record (`keys`,
 * `values`: simple, what the Kafka source builds) or, when `bytes` is set, also as positions into a few shared
 * buffers: the decoder then reads `bytes` and never touches the per-record arrays, which a producer of `bytes`
 * may build lazily (the embedded log does). Both must describe the same bytes.
 */
export interface RawRecordBatch {
  readonly topic: string;
  readonly partition: number;
  readonly count: number;
  readonly offsets: BigInt64Array;
  /** Record timestamps, ms since the epoch. */
  readonly timestamps: Float64Array;
  readonly keys: ReadonlyArray<Uint8Array | null>;
  readonly values: ReadonlyArray<Uint8Array | null>;
  /** Per record: header name → value bytes, or null when the record has none. */
  readonly headers: ReadonlyArray<ReadonlyArray<readonly [string, Uint8Array]> | null>;
  /** The same keys and values without an object per record (the fast path); optional. */
  readonly bytes?: RawRecordBytes;
}

/** Keys and values of a batch as positions into shared buffers: record `i`'s value is `chunks[chunkOf[i]]` at `[valueStart[i], valueStart[i] + valueLength[i])`. */
export interface RawRecordBytes {
  /** The buffers the keys and values lie in. */
  readonly chunks: readonly Uint8Array[];
  /** Per record: index in `chunks` of the buffer holding its key and value. */
  readonly chunkOf: Uint32Array;
  /** Per record: byte position of the key in its chunk, and its length; -1 for a null key. */
  readonly keyStart: Uint32Array;
  readonly keyLength: Int32Array;
  /** Per record: byte position of the value in its chunk, and its length; -1 for a null value. */
  readonly valueStart: Uint32Array;
  readonly valueLength: Int32Array;
}

/** A record that could not be decoded: kept whole, with where it came from and why (never silently dropped). */
export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly reason: string;
}

/** What a source returns for a batch: the decoded rows and the records that did not decode. */
export interface SourceBatch {
  /** Metadata columns `_topic, _partition, _offset, _timestamp, _key` then the value columns. */
  readonly table: arrow.Table;
  readonly deadLetters: readonly DeadLetter[];
  /** Raw records read, decoded or not. */
  readonly numRecords: number;
  /** Offsets that could not be read because the source no longer has them (`fail_on_data_loss = false`). */
  readonly lostRanges?: readonly OffsetRange[];
  /** Time spent fetching raw records and decoding them into Arrow (progress phases `read` and `toArrow`). */
  readonly timings?: { readonly readMs: number; readonly decodeMs: number };
  /**
   * Set when the source had read this batch ahead (`Source.prefetch`): 'used' if the read was served from it, with
   * `timings` then the time the read waited for it; 'discarded' if it had read other ranges and this read did the work.
   */
  readonly prefetch?: 'used' | 'discarded';
}

/**
 * A replayable, partitioned source (docs/architecture.md#connector-contract). Reading the same ranges must return the same rows every time:
 * that is what makes replay after a crash exact.
 */
export interface Source {
  /** The name the job gives it: the relation its rows appear as in SQL. */
  readonly name: string;
  /** Offsets just past the last available record of every partition. */
  latestOffsets(): Promise<Map<PartitionKey, bigint>>;
  /** The first offset still stored in every partition (where a new partition is read from). */
  earliestOffsets(): Promise<Map<PartitionKey, bigint>>;
  /** The value columns; undefined until declared or inferred (then fixed for the checkpoint). */
  readonly schema: ValueSchema | undefined;
  /** Fix the value columns (from the job, or as stored in the checkpoint). */
  useSchema(schema: ValueSchema): void;
  /**
   * Decode-side projection: the value columns the job reads (names in any case; undefined = all). `read` still
   * decodes and checks every column (dead letters do not change) but returns only these; `schema` (what users and
   * the checkpoint see) stays whole.
   */
  keepColumns?(names: readonly string[] | undefined): void;
  /** The value columns `read` returns (`schema` less what `keepColumns` left out). */
  readonly readSchema?: ValueSchema | undefined;
  /** Infer value columns from the records in these ranges (the first batch with data). */
  inferSchema(ranges: readonly OffsetRange[]): Promise<ValueSchema>;
  /** Caps of this source's batches (its max_records_per_* options); they override the run's caps. */
  readonly caps?: BatchCaps;
  /** Where a partition seen for the first time is read from on the very first batch ('earliest' or 'latest'). */
  readonly startingPosition: 'earliest' | 'latest';
  /** Every record whose offset lies in the ranges, decoded. */
  read(ranges: readonly OffsetRange[]): Promise<SourceBatch>;
  /**
   * Optional read-ahead: start reading and decoding these ranges in the background, as the next `read` will
   * probably ask for them. A cache of `read`, never a side effect: a later `read` of exactly these ranges may take
   * the result, any other read discards it, and `read` returns the same rows, dead letters and errors either way
   * (a failure in the background is not reported; the read then does the work and reports it). At most one batch
   * is kept; `close` drops it.
   */
  prefetch?(ranges: readonly OffsetRange[]): void;
  /** Advisory progress for lag tools once a batch is committed; the checkpoint stays the truth. */
  commit?(ranges: readonly OffsetRange[]): Promise<void>;
  close(): Promise<void>;
}
