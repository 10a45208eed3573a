import type { Channel, ConsumeMessage } from 'amqplib';
import { externalError } from '../../errors.js';
import { asAmqpError, type AmqpClient } from './client.js';

/** One message of a stream queue as the source keeps it: its offset, its bytes and what else a row carries. */
export interface StreamMessage {
  readonly offset: bigint;
  readonly content: Uint8Array;
  /** The AMQP `message-id` property (the row's `_key`), if the publisher set one. */
  readonly messageId: string | undefined;
  /** The AMQP `timestamp` property (seconds) as ms since the epoch; 0 when the publisher set none. */
  readonly timestampMs: number;
  /** Application headers, values as UTF-8 (`x-stream-offset`, the broker's, left out); null when there are none. */
  readonly headers: ReadonlyArray<readonly [string, Uint8Array]> | null;
}

export interface StreamReaderOptions {
  readonly owner: string;
  readonly prefetch: number;
  /** How long a probe waits for a first message (an empty queue answers nothing). */
  readonly probeMs: number;
  /** A read that receives nothing for this long has stalled. */
  readonly readTimeoutMs: number;
}

/** Deliveries of one chunk arrive back to back: this long without one ends the end-offset probe. */
const QUIET_MS = 25;

/**
 * Reads of RabbitMQ stream queues over AMQP 0.9.1. A stream is a log with an offset per record, from the first one
 * still stored (retention removes whole segments from the start); records are messages, except for a tracking record
 * opening each segment, which takes an offset and is never delivered (so message offsets have gaps of one). A consumer names where it starts
 * with the `x-stream-offset` argument ('first', 'last' = the start of the last chunk, 'next', or an offset), needs a
 * prefetch (basic.qos) and acknowledges as credit; each delivery carries its offset in the `x-stream-offset` header.
 * AMQP 0.9.1 has no request for a stream's end, so `endOffset` reads the last chunk (see there). Every consumer
 * gets a channel of its own (closing it cancels the consumer and drops what is in flight).
 */
export class StreamReader {
  /** The highest end offset returned per queue: a stream never shrinks at its end, so neither does what we report. */
  private readonly knownEnds = new Map<string, bigint>();

  constructor(
    private readonly client: AmqpClient,
    private readonly options: StreamReaderOptions,
  ) {}

  /** The first offset still stored, or undefined when the queue has no message (see `answers`). */
  async firstOffset(queue: string): Promise<bigint | undefined> {
    return this.answers(async (waitMs) => {
      let first: bigint | undefined;
      await this.consume(queue, 'first', 1, (m) => ((first = offsetOf(m)), true), waitMs);
      return first;
    });
  }

  /**
   * The offset just past the last message: a consumer from 'last' receives the last chunk's messages back to back;
   * the highest offset among them, plus one. The last chunk may hold no message, though: a segment that just rolled
   * over holds only its tracking record, which is never delivered (measured: a retention test hit it). Then the
   * messages are read on from the chunk of the last known end (or from 'first' when none is known yet). Never past
   * the true end (what it returns has been read), so a batch planned up to it can always be read; under a steady
   * inflow, or when the fallback's time ran out, it may lag the true end, which later batches read. 0 for a queue
   * without messages. Never less than an end it returned before (a stream does not shrink at its end).
   */
  async endOffset(queue: string): Promise<bigint> {
    const known = this.knownEnds.get(queue) ?? 0n;
    const last =
      (await this.highestFrom(queue, 'last', this.options.probeMs)) ??
      (await this.answers((waitMs) => this.highestFrom(queue, known > 0n ? Number(known - 1n) : 'first', waitMs)));
    const end = last === undefined ? 0n : last + 1n;
    if (end < known) return known;
    this.knownEnds.set(queue, end);
    return end;
  }

  /** The highest offset delivered from `start` until deliveries pause (or 5 × waitMs passed); undefined if none came. */
  private async highestFrom(queue: string, start: string | number, waitMs: number): Promise<bigint | undefined> {
    let max: bigint | undefined;
    const started = Date.now();
    const onMessage = (m: ConsumeMessage, ch: Channel): boolean => {
      const o = offsetOf(m);
      if (max === undefined || o > max) max = o;
      ch.ack(m);
      return Date.now() - started > 5 * waitMs; // a queue written faster than it is probed
    };
    await this.consume(queue, start, this.options.prefetch, onMessage, waitMs, QUIET_MS);
    return max;
  }

  /**
   * A probe's answer: an empty queue answers nothing, which a slow broker also does for a while, so no answer
   * within probe_ms is asked again with four times as long before it counts as empty.
   */
  private async answers(probe: (waitMs: number) => Promise<bigint | undefined>): Promise<bigint | undefined> {
    return (await probe(this.options.probeMs)) ?? (await probe(4 * this.options.probeMs));
  }

  /**
   * Every message with an offset in [from, until), in offset order: a consumer from `from` until the message at
   * `until - 1` (or past it) arrives. What the broker no longer has (retention) is simply not delivered: the first
   * offset received tells the caller what was lost. `until` must not lie past the stream's end (it came from
   * endOffset), else the read stalls and fails after read_timeout_ms.
   */
  async readRange(queue: string, from: bigint, until: bigint): Promise<{ messages: StreamMessage[]; firstOffset: bigint | undefined }> {
    const out: StreamMessage[] = [];
    let firstOffset: bigint | undefined;
    if (until <= from) return { messages: out, firstOffset };
    const ackEvery = Math.max(1, Math.floor(this.options.prefetch / 4));
    let unacked = 0;
    let seen = -1n;
    await this.consume(
      queue,
      Number(from),
      this.options.prefetch,
      (m, ch) => {
        const offset = offsetOf(m);
        if (++unacked >= ackEvery) {
          ch.ack(m, true);
          unacked = 0;
        }
        if (offset > seen) seen = offset;
        if (offset >= from && firstOffset === undefined) firstOffset = offset;
        if (offset < from) return false; // a chunk is delivered whole: skip its start
        if (offset >= until) return true;
        out.push(toStreamMessage(m, offset));
        return offset === until - 1n;
      },
      this.options.readTimeoutMs,
      undefined,
      () =>
        externalError(
          `${this.options.owner}: stream queue '${queue}': no message for ${this.options.readTimeoutMs} ms while reading [${from}, ${until}) (last offset received: ${seen < 0n ? 'none' : seen}); if retention emptied the queue, or it was deleted and re-created, those messages are lost: start over with a new --checkpoint`,
          true,
        ),
    );
    return { messages: out, firstOffset };
  }

  /**
   * One consumer on a channel of its own, from `start`, until `onMessage` says done, nothing arrives for `waitMs`
   * (before the first message) or `quietMs` (after it), or the connection fails. With `stalled`, a wait that runs
   * out is that error instead of the end.
   */
  private async consume(
    queue: string,
    start: string | number,
    prefetch: number,
    onMessage: (m: ConsumeMessage, ch: Channel) => boolean,
    waitMs: number,
    quietMs?: number,
    stalled?: () => Error,
  ): Promise<void> {
    const owner = this.options.owner;
    let finish!: (err?: Error) => void;
    let settled = false;
    const done = new Promise<void>((resolve, reject) => {
      finish = (err) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
    });
    done.catch(() => undefined); // may fail before it is awaited (a cut during basic.qos); the await below still sees it
    const ch = await this.client.channel((err) => finish(asAmqpError(owner, `stream queue '${queue}'`, err)));
    let timer: NodeJS.Timeout | undefined;
    let received = false;
    const arm = () => {
      clearTimeout(timer);
      const ms = received && quietMs !== undefined ? quietMs : waitMs;
      timer = setTimeout(() => finish(stalled?.()), ms);
    };
    try {
      await ch.prefetch(prefetch);
      const consuming = ch.consume(
        queue,
        (m) => {
          if (settled) return; // in flight when the consumer ended: not ours any more
          if (m === null) return finish(externalError(`${owner}: stream queue '${queue}': the broker cancelled the consumer (queue deleted?)`, false));
          received = true;
          let end = false;
          try {
            end = onMessage(m, ch);
          } catch (err) {
            return finish(err as Error);
          }
          if (end) finish();
          else arm();
        },
        { noAck: false, arguments: { 'x-stream-offset': start } },
      );
      await consuming;
      // Waits count from consume-ok: a slow answer to basic.consume is not an empty queue.
      if (!received && !settled) arm();
      await done;
    } catch (err) {
      throw asAmqpError(owner, `stream queue '${queue}'`, err);
    } finally {
      clearTimeout(timer);
      settled = true;
      ch.removeAllListeners('close');
      ch.on('error', () => undefined);
      // Not awaited: on a connection that just broke, close-ok never comes (and the channel dies with it anyway).
      ch.close().catch(() => undefined);
    }
  }
}

function offsetOf(m: ConsumeMessage): bigint {
  const o: unknown = m.properties.headers?.['x-stream-offset'];
  if (typeof o === 'number' || typeof o === 'bigint') return BigInt(o);
  throw externalError(`AMQP delivery from '${m.fields.routingKey}' has no x-stream-offset header: is the queue a stream (x-queue-type = stream)?`, false);
}

const encoder = new TextEncoder();

function toStreamMessage(m: ConsumeMessage, offset: bigint): StreamMessage {
  const p = m.properties;
  const ts: unknown = p.timestamp;
  let headers: [string, Uint8Array][] | null = null;
  for (const name in p.headers) {
    const value: unknown = p.headers[name];
    if (name === 'x-stream-offset' || value === undefined) continue;
    (headers ??= []).push([name, headerBytes(value)]);
  }
  return {
    offset,
    content: m.content, // a Buffer is a Uint8Array: no copy, no extra view
    messageId: typeof p.messageId === 'string' ? p.messageId : undefined,
    timestampMs: typeof ts === 'number' ? ts * 1000 : 0,
    headers,
  };
}

/** An AMQP header value (a typed field table entry) as bytes: strings as they are, buffers raw, the rest as JSON. */
function headerBytes(value: unknown): Uint8Array {
  if (Buffer.isBuffer(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return encoder.encode(value);
  return encoder.encode(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}
