import { DuckstreamError } from '../../errors.js';
import { partitionKey, rangeSize, type OffsetRange, type PartitionKey } from '../../plan/offset-range.js';
import type { BatchCaps } from '../../plan/plan-batch.js';
import type { RawRead, RawSource } from '../../source/raw-source.js';
import type { RawRecordBatch } from '../../source/source.js';
import { withRetry, type RetryOptions } from '../../util/retry.js';
import { isRetriableAmqpError, type AmqpClient } from './client.js';
import type { StreamStart } from './options.js';
import type { StreamMessage, StreamReader } from './stream-reader.js';

export interface StreamRawSourceConfig {
  /** The stream queues read, one partition each (`_topic` = the queue, `_partition` = 0). */
  readonly queues: readonly string[];
  readonly start: StreamStart;
  readonly failOnDataLoss: boolean;
  readonly caps: BatchCaps;
  readonly retry: RetryOptions;
  /** Where data-loss notes go (default stderr). */
  readonly note?: (message: string) => void;
}

/**
 * RabbitMQ stream queues as replayable raw records (docs/connectors/amqp.md): the stream offset is the offset,
 * every queue a partition; plans come from each queue's end (StreamReader.endOffset) and reads return exactly the
 * messages of each range, the same on every replay (a stream's messages never change; retention only removes the
 * oldest, which a read reports as lost). No advisory commit: AMQP 0.9.1 has no server-side offset tracking (that
 * is the stream protocol's, 3.11+); the checkpoint is the only record of progress.
 */
export class AmqpStreamRawSource implements RawSource {
  constructor(
    readonly name: string,
    private readonly client: AmqpClient,
    private readonly reader: StreamReader,
    private readonly config: StreamRawSourceConfig,
  ) {}

  get startingPosition(): 'earliest' | 'latest' {
    return this.config.start.kind === 'latest' ? 'latest' : 'earliest';
  }

  get caps(): BatchCaps {
    return this.config.caps;
  }

  async latestOffsets(): Promise<Map<PartitionKey, bigint>> {
    const ends = await this.retrying(() => Promise.all(this.config.queues.map((q) => this.reader.endOffset(q))));
    return new Map(this.config.queues.map((q, i) => [key(q), ends[i]!]));
  }

  /** A queue's first stored offset (0 when empty), or on the first batch the offset starting_offsets names. */
  async earliestOffsets(): Promise<Map<PartitionKey, bigint>> {
    const firsts = await this.retrying(() => Promise.all(this.config.queues.map((q) => this.reader.firstOffset(q))));
    const out = new Map(this.config.queues.map((q, i) => [key(q), firsts[i] ?? 0n]));
    const start = this.config.start;
    if (start.kind === 'offsets') for (const [q, offset] of start.offsets) out.set(key(q), offset);
    return out;
  }

  async readRaw(ranges: readonly OffsetRange[]): Promise<RawRead> {
    const wanted = ranges.filter((r) => rangeSize(r) > 0n);
    const reads = await this.retrying(() => Promise.all(wanted.map((r) => this.reader.readRange(r.topic, r.from, r.until))));
    const raws: RawRecordBatch[] = [];
    const lost: OffsetRange[] = [];
    for (const [i, r] of wanted.entries()) {
      const { messages, firstOffset } = reads[i]!;
      const first = firstOffset ?? r.until;
      if (first > r.from + 1n && (await this.storedFrom(r.topic)) > r.from) {
        const gone = { ...r, until: first < r.until ? first : r.until };
        const what = `offsets [${gone.from}, ${gone.until}) were removed (retention: max-length-bytes / max-age) before they were read`;
        if (this.config.failOnDataLoss)
          throw new AmqpDataLossError(`amqp source '${this.name}': stream queue '${r.topic}', range [${r.from}, ${r.until}): data loss: ${what}`);
        this.note(`source '${this.name}': stream queue '${r.topic}': ${what}; continuing from ${gone.until} (fail_on_data_loss = false)`);
        lost.push(gone);
      }
      if (messages.length > 0) raws.push(toRawBatch(r.topic, messages));
    }
    return { raws, ...(lost.length > 0 ? { lostRanges: lost } : {}) };
  }

  /**
   * Where a queue's stored messages start now, to tell lost messages from offsets that never were messages. Stream
   * offsets are not all messages: each segment opens with a tracking record that takes one offset and is never
   * delivered (measured on 3.10: small segments show every fifth offset missing), so a read may legitimately begin
   * one past its `from`. Retention removes whole segments, each at least one message and the next segment's
   * tracking record, so a loss shows as a gap of two or more before the first message, with the queue's first
   * stored message past `from`.
   */
  private async storedFrom(queue: string): Promise<bigint> {
    return (await this.retrying(() => this.reader.firstOffset(queue))) ?? 0n;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Broker work with the source's retries: a failed attempt drops the connection, the next one reconnects. */
  private retrying<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, { ...this.config.retry, isRetriable: isRetriableAmqpError, onRetry: () => this.client.reset() });
  }

  private note(message: string): void {
    (this.config.note ?? ((m: string) => process.stderr.write(`duckstream: ${m}\n`)))(message);
  }
}

/** Messages the job has not read are gone from the stream: never retried, the job stops (unless fail_on_data_loss = false). */
export class AmqpDataLossError extends DuckstreamError {
  constructor(message: string) {
    super(message, {
      domain: 'external',
      retriable: false,
      fix: "set fail_on_data_loss = 'false' to skip the lost messages (each skip is reported on stderr), or start over with a new --checkpoint",
    });
    this.name = 'AmqpDataLossError';
  }
}

function key(queue: string): PartitionKey {
  return partitionKey({ topic: queue, partition: 0 });
}

const encoder = new TextEncoder();

function toRawBatch(queue: string, messages: readonly StreamMessage[]): RawRecordBatch {
  const n = messages.length;
  const offsets = new BigInt64Array(n);
  const timestamps = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    offsets[i] = messages[i]!.offset;
    timestamps[i] = messages[i]!.timestampMs;
  }
  return {
    topic: queue,
    partition: 0,
    count: n,
    offsets,
    timestamps,
    keys: messages.map((m) => (m.messageId === undefined ? null : encoder.encode(m.messageId))),
    values: messages.map((m) => m.content),
    headers: messages.map((m) => m.headers),
  };
}
