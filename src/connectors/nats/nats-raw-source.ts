import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamState,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DuckstreamError, externalError, userError } from '../../errors.js';
import { partitionKey, type OffsetRange, type PartitionKey } from '../../plan/offset-range.js';
import type { BatchCaps } from '../../plan/plan-batch.js';
import type { RawRead, RawSource } from '../../source/raw-source.js';
import type { RawRecordBatch } from '../../source/source.js';
import { withRetry, type RetryOptions } from '../../util/retry.js';
import { isRetriableNatsError, natsErrorText } from './client.js';

export interface NatsRawSourceConfig {
  readonly stream: string;
  /** One subject filter per partition, in partition order; undefined: the whole stream is partition 0. */
  readonly subjects: readonly string[] | undefined;
  readonly startingPosition: 'earliest' | 'latest';
  readonly failOnDataLoss: boolean;
  readonly caps: BatchCaps;
  /** Advisory progress goes to durable consumers of this name (`<name>` or `<name>-<partition>`); none when undefined. */
  readonly durableName: string | undefined;
  readonly retry: RetryOptions;
  /** A range read that receives nothing for this long is abandoned (and retried). */
  readonly readTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Where data-loss and retry notes go (default stderr). */
  readonly note?: (message: string) => void;
}

/** Messages asked of the server per pull. */
const PULL_MESSAGES = 4096;

const encoder = new TextEncoder();

/**
 * A JetStream stream as replayable raw records (docs/architecture.md#connector-contract). The offset is the stream
 * sequence; a partition is the whole stream, or one subject filter within it (`subjects`: NATS's deterministic
 * subject-mapping partitions are one filter each). Every partition's end is the stream's last sequence + 1: all
 * messages up to it are stored when it is read, so a range `[from, until)` names one set of messages forever (less
 * the ones deleted since: gaps are legitimate, deletions before `from`'s read are data loss). A range is read by an
 * ordered consumer started at `from` with the partition's filter, stopped at `until` (or when the server has no
 * more): the same messages on every replay. The checkpoint is the truth; durable consumers are advisory, for lag.
 */
export class NatsRawSource implements RawSource {
  private jsm: JetStreamManager | undefined;
  private js: JetStreamClient | undefined;

  constructor(
    readonly name: string,
    private readonly nc: NatsConnection,
    private readonly config: NatsRawSourceConfig,
  ) {}

  get startingPosition(): 'earliest' | 'latest' {
    return this.config.startingPosition;
  }

  get caps(): BatchCaps {
    return this.config.caps;
  }

  /** The partitions: the stream's topic and number, with its subject filter. */
  get partitions(): { readonly key: PartitionKey; readonly partition: number; readonly filter: string | undefined }[] {
    const filters = this.config.subjects ?? [undefined];
    return filters.map((filter, partition) => ({ key: partitionKey({ topic: this.config.stream, partition }), partition, filter }));
  }

  async latestOffsets(): Promise<Map<PartitionKey, bigint>> {
    const state = await this.streamState();
    return new Map(this.partitions.map((p) => [p.key, BigInt(state.last_seq) + 1n]));
  }

  async earliestOffsets(): Promise<Map<PartitionKey, bigint>> {
    const state = await this.streamState();
    const first = BigInt(Math.max(1, state.first_seq));
    return new Map(this.partitions.map((p) => [p.key, first]));
  }

  /**
   * Inference reads a share of every range. Offsets of a subject partition are sparse (the other subjects' messages
   * lie between), so each share spans ten times the records it hopes for: declare `schema` for rare subjects.
   */
  sampleRanges(ranges: readonly OffsetRange[], records: number): OffsetRange[] {
    const nonEmpty = ranges.filter((r) => r.until > r.from);
    const sparse = this.config.subjects !== undefined ? 10 : 1;
    const per = BigInt(Math.max(1, Math.ceil(records / Math.max(1, nonEmpty.length))) * sparse);
    return nonEmpty.map((r) => ({ ...r, until: r.until - r.from > per ? r.from + per : r.until }));
  }

  async readRaw(ranges: readonly OffsetRange[]): Promise<RawRead> {
    // Partitions are read at once, each by its own consumer: the server filters them side by side.
    const reads = await Promise.all(ranges.filter((r) => r.until > r.from).map((r) => this.readRange(r)));
    const raws = reads.map((x) => x.raw).filter((raw) => raw.count > 0);
    const lostRanges = reads.flatMap((x) => x.lost);
    return { raws, ...(lostRanges.length > 0 ? { lostRanges } : {}) };
  }

  /**
   * Advisory (docs/architecture.md#the-batch-protocol step 7): each partition's durable consumer is re-created to
   * start at the range's end, so `nats consumer info` shows the job's lag as its unprocessed messages. Errors are
   * the caller's to log.
   */
  async commit(ranges: readonly OffsetRange[]): Promise<void> {
    const durable = this.config.durableName;
    if (durable === undefined) return;
    const jsm = await this.manager();
    for (const r of ranges) {
      const p = this.partitions.find((x) => x.partition === r.partition);
      if (!p) continue;
      const name = this.config.subjects === undefined ? durable : `${durable}-${r.partition}`;
      await jsm.consumers.delete(this.config.stream, name).catch(() => undefined);
      await jsm.consumers.add(this.config.stream, {
        durable_name: name,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Number(r.until),
        ack_policy: AckPolicy.Explicit,
        ...(p.filter !== undefined && { filter_subject: p.filter }),
      });
    }
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }

  private async manager(): Promise<JetStreamManager> {
    this.jsm ??= await jetstreamManager(this.nc, { timeout: this.config.requestTimeoutMs });
    return this.jsm;
  }

  private client(): JetStreamClient {
    this.js ??= jetstream(this.nc, { timeout: this.config.requestTimeoutMs });
    return this.js;
  }

  private async streamState(): Promise<StreamState> {
    return this.retrying(`read stream '${this.config.stream}'`, () => this.streamStateOnce());
  }

  private async streamStateOnce(): Promise<StreamState> {
    try {
      return (await (await this.manager()).streams.info(this.config.stream)).state;
    } catch (err) {
      if (/stream not found/i.test(natsErrorText(err)))
        throw userError(
          `nats source '${this.name}': stream '${this.config.stream}' does not exist on ${this.nc.getServer()}`,
          `create it (nats stream add ${this.config.stream} --subjects '…'), or fix stream = '…'`,
        );
      throw err;
    }
  }

  /** One range, retried with backoff while the failure is retriable; data loss checked before and after each attempt. */
  private async readRange(r: OffsetRange): Promise<{ raw: RawRecordBatch; lost: OffsetRange[] }> {
    const p = this.partitions.find((x) => x.partition === r.partition);
    if (!p || r.topic !== this.config.stream) throw this.dataLoss(r, 'the source no longer reads this partition (were stream or subjects changed?)');
    return this.retrying(`read ${describe(r, p.filter)}`, async () => {
      const lost: OffsetRange[] = [];
      const state = await this.streamStateOnce();
      let from = r.from;
      const first = BigInt(Math.max(1, state.first_seq));
      if (from < first) {
        const end = first < r.until ? first : r.until;
        this.lose(r, from, end, `sequences [${from}, ${end}) were deleted (purge or limits) before they were read; the stream now starts at ${first}`);
        lost.push({ ...r, from, until: end });
        from = end;
      }
      const last = BigInt(state.last_seq) + 1n;
      if (r.until > last) {
        const start = last > from ? last : from;
        this.lose(r, start, r.until, `the stream ends at ${last} but the batch was planned up to ${r.until} (stream deleted and re-created?)`);
        lost.push({ ...r, from: start, until: r.until });
      }
      const until = r.until < last ? r.until : last;
      const raw = until > from ? await this.readMessages(r, p.filter, from, until) : emptyBatch(r);
      // A purge while reading: the consumer silently starts past `from`. Gaps are legitimate, a moved stream start is not.
      const firstRead = raw.count > 0 ? raw.offsets[0]! : until;
      if (firstRead > from) {
        const now = BigInt(Math.max(1, (await this.streamStateOnce()).first_seq));
        if (now > from) {
          const end = now < firstRead ? now : firstRead;
          this.lose(r, from, end, `sequences [${from}, ${end}) were deleted while being read; the stream now starts at ${now}`);
          lost.push({ ...r, from, until: end });
        }
      }
      return { raw, lost };
    });
  }

  /** Every message of the partition with a sequence in [from, until), by an ordered consumer started at `from`. */
  private async readMessages(r: OffsetRange, filter: string | undefined, from: bigint, until: bigint): Promise<RawRecordBatch> {
    const consumer = await this.client().consumers.get(this.config.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Number(from),
      ...(filter !== undefined && { filter_subjects: filter }),
    });
    const offsets: bigint[] = [];
    const timestamps: number[] = [];
    const keys: Uint8Array[] = [];
    const values: Uint8Array[] = [];
    const headers: (Array<readonly [string, Uint8Array]> | null)[] = [];
    const subjects = new Map<string, Uint8Array>();
    try {
      if ((await consumer.info(true)).num_pending === 0) return emptyBatch(r);
      const end = Number(until);
      const messages = await consumer.consume({ max_messages: Math.min(PULL_MESSAGES, Math.max(64, Number(until - from))) });
      // Stalled: no message for read_timeout_ms (checked by a timer, not re-armed per message).
      let received = 0;
      let seen = -1;
      let stalled = false;
      let quietSince = Date.now();
      let lastSeq = -1;
      const timer = setInterval(
        () => {
          if (received !== seen) {
            seen = received;
            quietSince = Date.now();
          } else if (Date.now() - quietSince >= this.config.readTimeoutMs) {
            stalled = true;
            void messages.close();
          }
        },
        Math.max(50, Math.floor(this.config.readTimeoutMs / 10)),
      );
      try {
        for await (const m of messages) {
          const info = m.info;
          const seq = info.streamSequence;
          if (seq >= end) break;
          if (seq <= lastSeq) continue; // a consumer re-created after a reconnect never delivers a message twice here
          lastSeq = seq;
          offsets.push(BigInt(seq));
          timestamps.push(info.timestampNanos / 1e6);
          let key = subjects.get(m.subject);
          if (key === undefined) subjects.set(m.subject, (key = encoder.encode(m.subject)));
          keys.push(key);
          values.push(m.data);
          headers.push(headerPairs(m));
          received++;
          if (seq === end - 1 || info.pending === 0) break;
        }
      } finally {
        clearInterval(timer);
        await messages.close().catch(() => undefined);
      }
      if (stalled)
        throw externalError(
          `nats source '${this.name}': reading ${describe(r, filter)} received nothing for ${this.config.readTimeoutMs} ms (at sequence ${offsets.at(-1) ?? from})`,
          true,
        );
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    const count = offsets.length;
    return {
      topic: r.topic,
      partition: r.partition,
      count,
      offsets: BigInt64Array.from(offsets),
      timestamps: Float64Array.from(timestamps),
      keys,
      values,
      headers,
    };
  }

  private lose(r: OffsetRange, from: bigint, until: bigint, what: string): void {
    if (this.config.failOnDataLoss) throw this.dataLoss(r, what);
    this.note(
      `source '${this.name}': stream '${r.topic}' partition ${r.partition}: lost [${from}, ${until}): ${what}; continuing after them (fail_on_data_loss = false)`,
    );
  }

  private dataLoss(r: OffsetRange, what: string): NatsDataLossError {
    return new NatsDataLossError(`nats source '${this.name}': stream '${r.topic}' partition ${r.partition}, range [${r.from}, ${r.until}): data loss: ${what}`);
  }

  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, {
        ...this.config.retry,
        isRetriable: (err) => (err instanceof DuckstreamError ? err.retriable : isRetriableNatsError(err)),
        onRetry: (err, attempt, waitMs) =>
          this.note(`source '${this.name}': ${what} failed (attempt ${attempt}, retrying in ${waitMs} ms): ${natsErrorText(err)}`),
      });
    } catch (err) {
      if (err instanceof DuckstreamError) throw err;
      throw externalError(`nats source '${this.name}': ${what} failed: ${natsErrorText(err)}`, false, err);
    }
  }

  private note(message: string): void {
    (this.config.note ?? ((m: string) => process.stderr.write(`duckstream: ${m}\n`)))(message);
  }
}

/** Messages the job has not read are gone from the stream: never retried, the job stops (unless fail_on_data_loss = false). */
export class NatsDataLossError extends DuckstreamError {
  constructor(message: string) {
    super(message, {
      domain: 'external',
      retriable: false,
      fix: "set fail_on_data_loss = 'false' to skip the lost messages (each skip is reported on stderr), or start over with a new --checkpoint",
    });
    this.name = 'NatsDataLossError';
  }
}

function headerPairs(m: JsMsg): Array<readonly [string, Uint8Array]> | null {
  const h = m.headers;
  if (!h) return null;
  const pairs: Array<readonly [string, Uint8Array]> = [];
  for (const [name, values] of h) for (const v of values) pairs.push([name, encoder.encode(v)]);
  return pairs.length > 0 ? pairs : null;
}

function emptyBatch(r: OffsetRange): RawRecordBatch {
  return {
    topic: r.topic,
    partition: r.partition,
    count: 0,
    offsets: new BigInt64Array(0),
    timestamps: new Float64Array(0),
    keys: [],
    values: [],
    headers: [],
  };
}

function describe(r: OffsetRange, filter: string | undefined): string {
  return `stream '${r.topic}' partition ${r.partition}${filter !== undefined ? ` (subject '${filter}')` : ''} [${r.from}, ${r.until})`;
}
