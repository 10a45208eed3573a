import type { OffsetRange, PartitionKey } from '../plan/offset-range.js';
import type { BatchCaps } from '../plan/plan-batch.js';
import type { RawRecordBatch } from './source.js';

/** What a raw read returns: the records of exactly the ranges asked for, as bytes. */
export interface RawRead {
  /** The records, one or more batches per partition, in range order. */
  readonly raws: readonly RawRecordBatch[];
  /** Offsets that could not be read because the source no longer has them (`fail_on_data_loss = false`). */
  readonly lostRanges?: readonly OffsetRange[];
  /** Set when a read-ahead was pending: 'used' if this read was served from it, 'discarded' if not. */
  readonly prefetch?: 'used' | 'discarded';
}

/**
 * What a connector implements to be a source: offsets, and raw reads of exact offset ranges (same ranges ⇒ same
 * records, docs/architecture.md#connector-contract); optionally an advisory commit and a read-ahead. Everything about values (the declared or
 * inferred schema, projection, decoding, dead letters) is the decoding layer's (src/format/decoding-source.ts),
 * so a new connector never copies it.
 */
export interface RawSource {
  /** Offsets just past the last available record of every partition. */
  latestOffsets(): Promise<Map<PartitionKey, bigint>>;
  /** The first offset still stored in every partition (where a new partition is read from). */
  earliestOffsets(): Promise<Map<PartitionKey, bigint>>;
  /** Where a partition seen for the first time is read from on the very first batch. */
  readonly startingPosition: 'earliest' | 'latest';
  /** Caps of this source's batches (its max_records_per_* options), if it has any. */
  readonly caps?: BatchCaps;
  /** Every record whose offset lies in the ranges. */
  readRaw(ranges: readonly OffsetRange[]): Promise<RawRead>;
  /**
   * The ranges to read for schema inference out of the first batch's (at most about `records` records). Default:
   * the first `records` offsets in range order, right for a log whose offsets have no gaps.
   */
  sampleRanges?(ranges: readonly OffsetRange[], records: number): readonly OffsetRange[];
  /** Optional read-ahead of the next batch's raw records (see Source.prefetch): a cache, never a side effect. */
  prefetch?(ranges: readonly OffsetRange[]): void;
  /** Advisory progress for lag tools once a batch is committed; the checkpoint stays the truth. */
  commit?(ranges: readonly OffsetRange[]): Promise<void>;
  close(): Promise<void>;
}
