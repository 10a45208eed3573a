import type { Kafka } from 'kafkajs';
import { DuckstreamError, externalError, userError } from '../../errors.js';
import type { BatchCaps } from '../../plan/plan-batch.js';
import { partitionKey, rangesKey, type OffsetRange, type PartitionKey } from '../../plan/offset-range.js';
import { withRetry, type RetryOptions } from '../../util/retry.js';
import type { RawRead, RawSource } from '../../source/raw-source.js';
import type { RawRecordBatch } from '../../source/source.js';
import { ReadAheadBackoff } from './read-ahead-backoff.js';
import { isRetriableKafkaError, kafkaErrorText } from './client.js';
import { KafkaOffsets, type PartitionBounds } from './offsets.js';
import type { StartingOffsets } from './options.js';
import { KafkaRangeReader, type RangeReaderOptions } from './range-reader.js';

export interface KafkaRawSourceConfig {
  readonly starting: StartingOffsets;
  readonly failOnDataLoss: boolean;
  /** Advisory offset commits go to this group (none when undefined). */
  readonly groupId: string | undefined;
  readonly caps: BatchCaps;
  readonly retry: RetryOptions;
  /** Fetch the next batch's records while the driver works on this one (`prefetch`). */
  readonly readAhead?: boolean;
  readonly reader: Omit<RangeReaderOptions, 'sourceName'>;
  /** Where data-loss notes go (default stderr). */
  readonly note?: (message: string) => void;
}

/**
 * A Kafka topic (or several, or a pattern) as replayable raw records (docs/architecture.md#connector-contract): offsets are Kafka's, plans come
 * from the partitions' end offsets, reads return exactly the records in each range (see KafkaRangeReader), the next
 * batch is fetched ahead while the driver works on this one, and committed batches are reported to `group_id` for
 * lag tools. The checkpoint, not the group, is the truth.
 */
export class KafkaRawSource implements RawSource {
  private startingCache: Map<PartitionKey, bigint> | undefined;
  private readonly reader: KafkaRangeReader;
  /** At most one batch's raw records fetched ahead, keyed by its ranges; never rejects (undefined = not usable). */
  private ahead: { readonly key: string; readonly raws: Promise<RawRecordBatch[] | undefined> } | undefined;
  /** Batches fetched ahead, and how many of them a read took or discarded (tests and benchmarks look). */
  readonly prefetchCounts = { started: 0, used: 0, discarded: 0 };
  /** A fetch for nothing also delays the next read (it waits for the consumer): back off when it keeps happening. */
  private readonly aheadBackoff = new ReadAheadBackoff();

  constructor(
    readonly name: string,
    kafka: Kafka,
    private readonly offsets: KafkaOffsets,
    private readonly config: KafkaRawSourceConfig,
  ) {
    this.reader = new KafkaRangeReader(kafka, { sourceName: name, ...config.reader });
  }

  get startingPosition(): 'earliest' | 'latest' {
    return this.config.starting.kind === 'latest' ? 'latest' : 'earliest';
  }

  /** max_records_per_partition / max_records_per_batch of this source. */
  get caps(): BatchCaps {
    return this.config.caps;
  }

  async latestOffsets(): Promise<Map<PartitionKey, bigint>> {
    const bounds = await this.bounds();
    return new Map([...bounds].map(([k, b]) => [k, b.high]));
  }

  /**
   * Where a partition seen for the first time starts: its log start, or on the first batch what
   * `starting_offsets` names (a partition offset, -2 earliest, -1 latest, or the first offset at a timestamp).
   */
  async earliestOffsets(): Promise<Map<PartitionKey, bigint>> {
    const bounds = await this.bounds();
    const out = new Map([...bounds].map(([k, b]) => [k, b.low]));
    const starting = this.config.starting;
    if (starting.kind !== 'offsets' && starting.kind !== 'timestamp') return out;
    if (!this.startingCache) {
      const cache = new Map<PartitionKey, bigint>();
      if (starting.kind === 'timestamp') {
        const topics = [...new Set([...bounds.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))];
        for (const [k, v] of await this.offsets.offsetsForTimestamp(topics, starting.ms)) cache.set(k, v);
      } else {
        for (const [topic, parts] of starting.offsets) {
          for (const [partition, offset] of parts) {
            const key = partitionKey({ topic, partition });
            const b = bounds.get(key);
            if (!b)
              throw userError(
                `source '${this.name}': starting_offsets names ${topic} partition ${partition}, which the source does not read`,
                "name only partitions of the source's topics",
              );
            cache.set(key, offset === -2n ? b.low : offset === -1n ? b.high : offset);
          }
        }
      }
      this.startingCache = cache;
    }
    for (const [k, v] of this.startingCache) out.set(k, v);
    return out;
  }

  /** Inference reads a share of every range: Kafka offsets have gaps (compaction, markers), and partitions differ. */
  sampleRanges(ranges: readonly OffsetRange[], records: number): OffsetRange[] {
    const nonEmpty = ranges.filter((r) => r.until > r.from);
    const per = BigInt(Math.max(1, Math.ceil(records / Math.max(1, nonEmpty.length))));
    return nonEmpty.map((r) => ({ ...r, until: r.until - r.from > per ? r.from + per : r.until }));
  }

  /** The ranges' records: those fetched ahead if they are exactly these ranges', else read now (with retries). */
  async readRaw(ranges: readonly OffsetRange[]): Promise<RawRead> {
    const ahead = await this.takeAhead(rangesKey(ranges));
    const { raws, lost } = ahead?.raws ? { raws: ahead.raws, lost: [] } : await this.readNow(ranges);
    return {
      raws,
      ...(lost.length > 0 ? { lostRanges: lost } : {}),
      ...(ahead ? { prefetch: ahead.raws ? ('used' as const) : ('discarded' as const) } : {}),
    };
  }

  /**
   * Start fetching these ranges for the next `read` (Source.prefetch): the records travel from the broker while
   * the driver decodes, loads and writes this batch. One attempt, no notes: anything unusual (an error, offsets
   * already deleted or not there yet, a first offset past the range start) makes it give up, and the read then
   * does the work itself and reports what it finds, exactly as without read-ahead.
   */
  prefetch(ranges: readonly OffsetRange[]): void {
    if (this.config.readAhead === false || this.ahead) return;
    const wanted = ranges.filter((r) => r.until > r.from);
    if (wanted.length === 0 || !this.aheadBackoff.take()) return;
    this.prefetchCounts.started++;
    this.ahead = { key: rangesKey(ranges), raws: this.fetchAhead(wanted).catch(() => undefined) };
  }

  private async fetchAhead(ranges: readonly OffsetRange[]): Promise<RawRecordBatch[] | undefined> {
    const bounds = await this.offsets.bounds([...new Set(ranges.map((r) => r.topic))]);
    const inside = ranges.every((r) => {
      const b = bounds.get(partitionKey(r));
      return b !== undefined && r.from >= b.low && r.until <= b.high;
    });
    if (!inside) return undefined;
    const { batches, firstOffsets } = await this.reader.read(ranges);
    return ranges.every((r) => firstOffsets.get(partitionKey(r)) === r.from) ? batches : undefined;
  }

  /**
   * What was fetched ahead: undefined if nothing was, else the records if they are `key`'s (raws undefined: another
   * batch's, or the fetch gave up). Awaits a fetch in progress either way: the reader's one consumer reads one batch
   * at a time.
   */
  private async takeAhead(key: string | undefined): Promise<{ raws: RawRecordBatch[] | undefined } | undefined> {
    const ahead = this.ahead;
    if (!ahead) return undefined;
    const raws = await ahead.raws;
    this.ahead = undefined;
    const usable = raws !== undefined && ahead.key === key;
    if (usable) {
      this.prefetchCounts.used++;
      this.aheadBackoff.used();
    } else {
      this.prefetchCounts.discarded++;
      this.aheadBackoff.discarded();
    }
    return { raws: usable ? raws : undefined };
  }

  /** Advisory (docs/architecture.md#the-batch-protocol step 7): the ranges' ends become `group_id`'s committed offsets; errors are the caller's to log. */
  async commit(ranges: readonly OffsetRange[]): Promise<void> {
    const groupId = this.config.groupId;
    if (!groupId) return;
    await withRetry(() => this.offsets.commitGroup(groupId, ranges), { retries: 2, initialMs: 100, isRetriable: isRetriableKafkaError });
  }

  async close(): Promise<void> {
    // a fetch ahead still running is cut short: the reader's close makes it fail at once
    const ahead = this.ahead;
    this.ahead = undefined;
    await this.reader.close();
    await ahead?.raws;
    await this.offsets.close();
  }

  private async bounds(): Promise<Map<PartitionKey, PartitionBounds>> {
    return this.offsets.bounds(await this.offsets.topics());
  }

  /**
   * Read the ranges, retrying with backoff (a fresh consumer each time) while the failure is retriable.
   * Before each attempt the ranges are checked against the partitions' log start and end: offsets deleted
   * before they were read are data loss (docs/architecture.md#known-hazards: kafkajs would silently jump elsewhere).
   */
  private async readNow(ranges: readonly OffsetRange[]): Promise<{ raws: RawRecordBatch[]; lost: OffsetRange[] }> {
    const wanted = ranges.filter((r) => r.until > r.from);
    if (wanted.length === 0) return { raws: [], lost: [] };
    const what = describeRanges(wanted);
    try {
      return await withRetry(
        async () => {
          const lost: OffsetRange[] = [];
          const adjusted = await this.checkDataLoss(wanted, lost);
          const { batches, firstOffsets } = await this.reader.read(adjusted);
          await this.checkFirstOffsets(adjusted, firstOffsets);
          return { raws: batches, lost };
        },
        {
          ...this.config.retry,
          isRetriable: (err) => (err instanceof DuckstreamError ? err.retriable : isRetriableKafkaError(err)),
          onRetry: async (err, attempt, waitMs) => {
            this.note(`source '${this.name}': reading ${what} failed (attempt ${attempt}, retrying in ${waitMs} ms): ${kafkaErrorText(err)}`);
            await this.reader.reset();
          },
        },
      );
    } catch (err) {
      if (err instanceof DataLossError || (err instanceof DuckstreamError && err.domain === 'user')) throw err;
      throw externalError(`kafka source '${this.name}': reading ${what} failed: ${kafkaErrorText(err)}`, false, err);
    }
  }

  /** Ranges whose start was deleted (retention, deleteRecords) or whose end no longer exists (topic recreated). */
  private async checkDataLoss(ranges: readonly OffsetRange[], lost: OffsetRange[]): Promise<OffsetRange[]> {
    const topics = [...new Set(ranges.map((r) => r.topic))];
    const bounds = await this.offsets.bounds(topics);
    const out: OffsetRange[] = [];
    for (const r of ranges) {
      const b = bounds.get(partitionKey(r));
      if (!b) throw this.dataLoss(r, `the partition no longer exists`);
      let { from, until } = r;
      if (from < b.low) {
        if (this.config.failOnDataLoss)
          throw this.dataLoss(
            r,
            `offsets [${from}, ${b.low < until ? b.low : until}) were deleted (retention) before they were read; the log now starts at ${b.low}`,
          );
        this.note(
          `source '${this.name}': ${r.topic} partition ${r.partition}: offsets [${from}, ${b.low < until ? b.low : until}) were lost (deleted before they were read); continuing from ${b.low} (fail_on_data_loss = false)`,
        );
        lost.push({ ...r, from, until: b.low < until ? b.low : until });
        from = b.low < until ? b.low : until;
      }
      if (until > b.high) {
        if (this.config.failOnDataLoss)
          throw this.dataLoss(r, `the partition ends at ${b.high} but the batch was planned up to ${until} (topic recreated or truncated?)`);
        this.note(
          `source '${this.name}': ${r.topic} partition ${r.partition}: offsets [${b.high > from ? b.high : from}, ${until}) are gone; reading up to ${b.high} (fail_on_data_loss = false)`,
        );
        lost.push({ ...r, from: b.high > from ? b.high : from, until });
        until = b.high > from ? b.high : from;
      }
      if (until > from) out.push({ ...r, from, until });
    }
    return out;
  }

  /** The first record read must be the range start, unless the offsets before it are legitimately absent (compaction, markers). */
  private async checkFirstOffsets(ranges: readonly OffsetRange[], firstOffsets: ReadonlyMap<PartitionKey, bigint>): Promise<void> {
    const suspicious = ranges.filter((r) => (firstOffsets.get(partitionKey(r)) ?? r.until) > r.from);
    if (suspicious.length === 0) return;
    const bounds = await this.offsets.bounds([...new Set(suspicious.map((r) => r.topic))]);
    for (const r of suspicious) {
      const low = bounds.get(partitionKey(r))?.low ?? r.from;
      if (low > r.from && this.config.failOnDataLoss)
        throw this.dataLoss(
          r,
          `the first record read was ${firstOffsets.get(partitionKey(r)) ?? 'none'} and the log now starts at ${low}: records were deleted while being read`,
        );
    }
  }

  private dataLoss(r: OffsetRange, what: string): DataLossError {
    return new DataLossError(`kafka source '${this.name}': ${r.topic} partition ${r.partition}, range [${r.from}, ${r.until}): data loss: ${what}`);
  }

  private note(message: string): void {
    (this.config.note ?? ((m: string) => process.stderr.write(`duckstream: ${m}\n`)))(message);
  }
}

/** Records the job has not read are gone from the broker: never retried, the job stops (unless fail_on_data_loss = false). */
export class DataLossError extends DuckstreamError {
  constructor(message: string) {
    super(message, {
      domain: 'external',
      retriable: false,
      fix: "set fail_on_data_loss = 'false' to skip the lost records (each skip is reported on stderr), or start over with a new --checkpoint",
    });
    this.name = 'DataLossError';
  }
}

function describeRanges(ranges: readonly OffsetRange[]): string {
  const byTopic = new Map<string, number[]>();
  for (const r of ranges) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r.partition]);
  return [...byTopic].map(([t, ps]) => `topic '${t}' partition${ps.length > 1 ? 's' : ''} ${ps.join(',')}`).join('; ');
}
