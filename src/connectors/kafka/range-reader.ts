import { randomBytes } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { externalError } from '../../errors.js';
import { partitionKey, type OffsetRange, type PartitionKey } from '../../plan/offset-range.js';
import type { RawRecordBatch } from '../../source/source.js';
import { isPermanentBrokerError, kafkaErrorText } from './client.js';
import { kafkaRecordBytes } from './record-bytes.js';

export interface RangeReaderOptions {
  readonly sourceName: string;
  readonly maxWaitMs: number;
  readonly maxBytesPerPartition: number;
  readonly sessionTimeoutMs: number;
  /** A read attempt that makes no progress for this long fails (and is retried by the caller). */
  readonly stallTimeoutMs: number;
  /** Test hook / notes: called when the reader creates a consumer (a group join, ~3 s on the mock). */
  readonly onConsumerCreated?: () => void;
}

/** One partition being read: where it must start and stop, where the next fetch must start, what arrived. */
interface Want {
  readonly range: OffsetRange;
  /** The offset the next fetch of this partition must start at; anything else is stale or a reset position. */
  expected: bigint;
  firstSeen: bigint | undefined;
  lastSeen: bigint;
  mismatches: number;
  done: boolean;
  readonly offsets: bigint[];
  readonly timestamps: number[];
  readonly keys: (Uint8Array | null)[];
  readonly values: (Uint8Array | null)[];
  readonly headers: (ReadonlyArray<readonly [string, Uint8Array]> | null)[];
}

export interface RangeReadResult {
  readonly batches: RawRecordBatch[];
  /** Per partition, the first offset actually read (absent when the range had no record). */
  readonly firstOffsets: ReadonlyMap<PartitionKey, bigint>;
}

/**
 * Reads exact offset ranges with one long-lived kafkajs consumer (docs/architecture.md#known-hazards): kafkajs has no manual `assign()`,
 * so the consumer sits alone in a group of its own (a random id, never committed to), is subscribed to the
 * source's topics, and every read seeks each partition to the range start after the join, resumes it, and
 * pauses it once the range end is reached. Between reads every partition is paused.
 *
 * A record is accepted only if its offset is in the range and the fetch that brought it started exactly where
 * the previous one ended (kafkajs's `fetchedOffset`): that drops stale fetches from before a seek, and notices
 * when kafkajs silently moved the position itself (OFFSET_OUT_OF_RANGE resets it to the log start).
 * A new consumer costs a group join (~3 s on the mock), so it is kept across batches and only recreated when it
 * crashed or lacks a partition (new partitions, new topics of a pattern).
 */
export class KafkaRangeReader {
  private consumer: Consumer | undefined;
  private topics: string[] = [];
  private assigned = new Set<PartitionKey>();
  private crashed: Error | undefined;
  private wants = new Map<PartitionKey, Want>();
  private wake: (() => void) | undefined;
  /** Set by close: a read still waiting (a fetch ahead) fails at once instead of running into the stall timeout. */
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: RangeReaderOptions,
  ) {}

  /** Every record whose offset is in one of the (non-empty) ranges, one raw batch per range in range order. */
  async read(ranges: readonly OffsetRange[]): Promise<RangeReadResult> {
    const wanted = ranges.filter((r) => r.until > r.from);
    if (wanted.length === 0) return { batches: [], firstOffsets: new Map() };
    await this.ensureConsumer(wanted);
    const consumer = this.consumer!;
    this.wants = new Map(wanted.map((r) => [partitionKey(r), newWant(r)]));
    try {
      try {
        for (const r of wanted) consumer.seek({ topic: r.topic, partition: r.partition, offset: r.from.toString() });
        this.resumeWanted();
      } catch (err) {
        // seek/resume throw once the consumer has crashed; its crash event carries the real cause.
        // Without a crash event, kafkajs is restarting the consumer after a retriable error: try again.
        for (let i = 0; i < 20 && !this.crashed; i++) await new Promise((r) => setTimeout(r, 50));
        throw this.crashed ?? externalError(`kafka source '${this.options.sourceName}': the consumer is not running (${kafkaErrorText(err)})`, true, err);
      }
      await this.waitUntilDone();
      const batches = wanted.map((r) => toRawBatch(this.wants.get(partitionKey(r))!));
      const firstOffsets = new Map<PartitionKey, bigint>();
      for (const [key, w] of this.wants) if (w.firstSeen !== undefined) firstOffsets.set(key, w.firstSeen);
      return { batches, firstOffsets };
    } finally {
      this.wants = new Map();
      this.pauseAll();
    }
  }

  /**
   * Drop the consumer (after a failed attempt): the next read starts a fresh one. The old one's disconnect is
   * awaited only briefly: after a broker outage its LeaveGroup can hang for the whole request timeout, and its
   * group is a throwaway one anyway.
   */
  async reset(waitMs = 1000): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.assigned = new Set();
    this.crashed = undefined;
    if (!consumer) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([consumer.disconnect().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.reset(5000);
  }

  private async ensureConsumer(ranges: readonly OffsetRange[]): Promise<void> {
    const topics = [...new Set([...this.topics, ...ranges.map((r) => r.topic)])].sort();
    const usable = this.consumer && !this.crashed && topics.length === this.topics.length && ranges.every((r) => this.assigned.has(partitionKey(r)));
    if (usable) return;
    if (this.closed) throw externalError(`kafka source '${this.options.sourceName}': the reader was closed`, false);
    await this.reset();
    this.topics = topics;
    this.options.onConsumerCreated?.();
    const consumer = this.kafka.consumer({
      groupId: `duckstream-reader-${this.options.sourceName}-${randomBytes(6).toString('hex')}`,
      maxWaitTimeInMs: this.options.maxWaitMs,
      maxBytesPerPartition: this.options.maxBytesPerPartition,
      maxBytes: Math.max(this.options.maxBytesPerPartition * 4, 16 * 1024 * 1024),
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: Math.min(3000, Math.floor(this.options.sessionTimeoutMs / 3)),
      allowAutoTopicCreation: false,
      readUncommitted: false,
      // The consumer's own retry is per fetch inside its run loop, which no withRetry can reach without a new
      // consumer and a group join (~3 s): it keeps a failed fetch from costing that. A read whose consumer still
      // crashes is retried as a whole by KafkaRawSource (a fresh consumer each attempt).
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 5 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (this.consumer !== consumer) return;
      const assignment = e.payload.memberAssignment as Record<string, number[]>;
      this.assigned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => partitionKey({ topic: t, partition: p }))));
      // A rejoin (after a broker fault) may lose seek positions and pauses: apply ours again.
      this.pauseAll();
      for (const w of this.wants.values()) {
        if (w.done) continue;
        consumer.seek({ topic: w.range.topic, partition: w.range.partition, offset: w.expected.toString() });
      }
      this.resumeWanted();
      this.wake?.();
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (this.consumer !== consumer) return;
      // kafkajs restarts itself after retriable errors; otherwise this consumer is dead for good (docs/architecture.md#known-hazards).
      if (!e.payload.restart) {
        // A definite refusal by the broker (authorization, unsupported, invalid) will not heal: no retry for it.
        const permanent = isPermanentBrokerError(e.payload.error);
        this.crashed = externalError(
          `kafka source '${this.options.sourceName}': consumer crashed: ${kafkaErrorText(e.payload.error)}`,
          !permanent,
          e.payload.error,
        );
        this.wake?.();
      }
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => this.onFilteredBatch(e.payload));
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch: (p) => this.onBatch(p) });
    await this.waitFor(() => this.assigned.size > 0, 'join its reader group');
    const missing = ranges.filter((r) => !this.assigned.has(partitionKey(r)));
    if (missing.length > 0) {
      throw externalError(
        `kafka source '${this.options.sourceName}': the reader was not assigned ${missing.map((r) => `${r.topic} partition ${r.partition}`).join(', ')} (metadata not yet up to date?)`,
        true,
      );
    }
  }

  private onBatch({ batch }: EachBatchPayload): Promise<void> {
    const key = partitionKey({ topic: batch.topic, partition: batch.partition });
    const w = this.wants.get(key);
    if (!w || w.done) return Promise.resolve();
    // kafkajs's Batch has fetchedOffset (the offset the fetch asked for); its typings leave it out.
    if (BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset) !== w.expected) {
      // Stale (fetched before our seek), or kafkajs moved the position itself: go back to where we are.
      w.mismatches++;
      this.consumer?.seek({ topic: batch.topic, partition: batch.partition, offset: w.expected.toString() });
      this.wake?.();
      return Promise.resolve();
    }
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      if (offset < w.range.from || offset <= w.lastSeen) continue;
      if (offset >= w.range.until) break;
      accept(w, offset, m);
    }
    this.advance(w, BigInt(batch.lastOffset()) + 1n);
    return Promise.resolve();
  }

  /** Batches of only control records or aborted transactions never reach eachBatch; they still move the position. */
  private onFilteredBatch(p: { topic: string; partition: number; batchSize: number; firstOffset: string | null; lastOffset: string }): void {
    if (p.batchSize !== 0 || p.firstOffset === null) return;
    const w = this.wants.get(partitionKey(p));
    if (!w || w.done || BigInt(p.firstOffset) < w.expected) return;
    this.advance(w, BigInt(p.lastOffset) + 1n);
  }

  private advance(w: Want, next: bigint): void {
    if (next > w.expected) w.expected = next;
    if (w.expected >= w.range.until) {
      w.done = true;
      this.consumer?.pause([{ topic: w.range.topic, partitions: [w.range.partition] }]);
    }
    this.wake?.();
  }

  private async waitUntilDone(): Promise<void> {
    await this.waitFor(() => {
      for (const w of this.wants.values()) {
        if (w.mismatches > 20) {
          throw externalError(
            `kafka source '${this.options.sourceName}': ${w.range.topic} partition ${w.range.partition}: the client keeps fetching from another offset than ${w.expected} (offset out of range?)`,
            true,
          );
        }
      }
      return [...this.wants.values()].every((w) => w.done);
    }, 'read its ranges');
  }

  /** Wait until `done()` holds; fail on a crash, or when nothing moved for the stall timeout. */
  private async waitFor(done: () => boolean, what: string): Promise<void> {
    let progressAt = Date.now();
    let lastProgress = this.progressMark();
    for (;;) {
      if (this.closed) throw externalError(`kafka source '${this.options.sourceName}': the reader was closed`, false);
      if (this.crashed) throw this.crashed;
      if (done()) return;
      const mark = this.progressMark();
      if (mark !== lastProgress) {
        lastProgress = mark;
        progressAt = Date.now();
      }
      if (Date.now() - progressAt > this.options.stallTimeoutMs) {
        const open = [...this.wants.values()]
          .filter((w) => !w.done)
          .map((w) => `${w.range.topic} partition ${w.range.partition} at offset ${w.expected} of [${w.range.from}, ${w.range.until})`);
        throw externalError(
          `kafka source '${this.options.sourceName}': the consumer did not ${what} within ${this.options.stallTimeoutMs} ms${open.length > 0 ? `: ${open.join(', ')}` : ''}`,
          true,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private progressMark(): string {
    let s = `${this.assigned.size}`;
    for (const w of this.wants.values()) s += `,${w.expected}`;
    return s;
  }

  private resumeWanted(): void {
    const consumer = this.consumer;
    if (!consumer) return;
    for (const w of this.wants.values()) if (!w.done) consumer.resume([{ topic: w.range.topic, partitions: [w.range.partition] }]);
  }

  private pauseAll(): void {
    const consumer = this.consumer;
    if (!consumer) return;
    try {
      for (const topic of this.topics) consumer.pause([{ topic }]);
    } catch {
      // The consumer crashed (kafkajs refuses pause then); the next read replaces it.
    }
  }
}

function newWant(range: OffsetRange): Want {
  return {
    range,
    expected: range.from,
    firstSeen: undefined,
    lastSeen: -1n,
    mismatches: 0,
    done: false,
    offsets: [],
    timestamps: [],
    keys: [],
    values: [],
    headers: [],
  };
}

function accept(w: Want, offset: bigint, m: KafkaMessage): void {
  w.firstSeen ??= offset;
  w.lastSeen = offset;
  w.offsets.push(offset);
  w.timestamps.push(Number(m.timestamp));
  w.keys.push(m.key ?? null);
  w.values.push(m.value ?? null);
  w.headers.push(headerPairs(m.headers));
}

/** kafkajs gives headers as an object (a repeated name becomes an array); back to ordered pairs. */
function headerPairs(headers: KafkaMessage['headers']): ReadonlyArray<readonly [string, Uint8Array]> | null {
  if (!headers) return null;
  const out: [string, Uint8Array][] = [];
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([name, typeof one === 'string' ? Buffer.from(one) : one]);
  }
  return out.length > 0 ? out : null;
}

function toRawBatch(w: Want): RawRecordBatch {
  const bytes = kafkaRecordBytes(w.keys, w.values);
  return {
    ...(bytes ? { bytes } : {}),
    topic: w.range.topic,
    partition: w.range.partition,
    count: w.offsets.length,
    offsets: BigInt64Array.from(w.offsets),
    timestamps: Float64Array.from(w.timestamps),
    keys: w.keys,
    values: w.values,
    headers: w.headers,
  };
}
