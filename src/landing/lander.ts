/**
 * Landing: how a broker that cannot replay (MQTT, RabbitMQ classic/quorum queues) feeds a job exactly like the
 * embedded log does (docs/connectors/landing.md, docs/architecture.md#connector-contract).
 *
 * API (stable; the MQTT and AMQP connectors and `duckstream ingest` use only this):
 *
 * ```ts
 * const lander = await Lander.open(dir, { what: "source 'events'", dedupeKey: 'id' });
 * // per broker message, in delivery order, as many at once as the client delivers:
 * const r = await lander.land({ value, key: topic, timestamp, dedupeId, redelivered });
 * //   resolves only once the record is durable (fsync) in `dir`, or once it is known to be a duplicate;
 * //   r.outcome: 'landed' (r.offset is its offset) | 'duplicate' (dropped: already in the log)
 * ack();                       // the broker's ack (PUBACK, basic.ack) goes only now
 * lander.forget(dedupeId);     // optional: an id the broker may reuse after the ack (MQTT packet ids)
 * lander.stats;                // { landed, duplicates, appends } since open
 * // dedupeId must not start with 'k:' (reserved for dedupe_key identities); prefix it with the broker: 'amqp:…'
 * await lander.close();        // waits for appends in flight, releases the log's append lock
 * ```
 *
 * - `dir` is an embedded log (src/log/) with one partition; it is created when missing. A job reads it with the
 *   log source (`LandingSource` in landing-source.ts, or `connector = 'log', path = dir` from another job).
 * - Group commit: messages handed in while an append is being fsynced are written together by the next append, so
 *   the throughput follows how many messages the client has in flight, with one fsync per group.
 * - Dedupe: a message's identity is `dedupeId` (a broker id: AMQP message_id, an MQTT packet identity) or, with
 *   `dedupeKey`, the value of that top-level field of the JSON body (it wins over `dedupeId`). The identity is stored
 *   with the record (header `ds-dedupe-id`), so the index of recent identities is persisted by the same fsync as the
 *   record and rebuilt at open from the last `dedupeWindow` records. A message whose identity is in that index is
 *   dropped (`duplicate`). A `dedupeKey` identity is always checked (the user says equal keys are one message, e.g.
 *   a publisher's retry); a broker `dedupeId` is not checked when `redelivered === false` (the broker says it never
 *   delivered this message before: AMQP's `redelivered`, MQTT's DUP flag), though it is still recorded.
 * - What stays at-least-once: a message without an identity that the broker redelivers because the process died
 *   after its append was durable and before the broker got the ack. `stats.duplicates` counts the ones dropped.
 */
import { createLog, openLog, type EmbeddedLog } from '../log/index.js';
import { userError } from '../errors.js';
import { DedupeIndex } from './dedupe-index.js';

/** The header a landed record keeps its identity in (read back at open to rebuild the dedupe index). */
export const DEDUPE_HEADER = 'ds-dedupe-id';

/** One broker message, as the broker client hands it to the lander. */
export interface LandingMessage {
  /** The body, stored as the record's value (the job's `format` decodes it). */
  readonly value: Uint8Array;
  /** Stored as the record's key, the job's `_key`: the MQTT topic, the AMQP routing key. */
  readonly key?: string | null;
  /** ms since the epoch (the job's `_timestamp`); default the landing time. */
  readonly timestamp?: number;
  /** Extra record headers (the log keeps them; `_headers` where a source exposes them). */
  readonly headers?: ReadonlyArray<readonly [string, string | Uint8Array]>;
  /** The broker's identity of the message, stable across its redeliveries (see the file comment). */
  readonly dedupeId?: string;
  /** false: the broker says this is a first delivery (AMQP `redelivered`, MQTT DUP), so `dedupeId` is not checked (a dedupe_key still is). */
  readonly redelivered?: boolean;
}

export type LandOutcome = { readonly outcome: 'landed'; readonly offset: bigint } | { readonly outcome: 'duplicate' };

export interface LanderOptions {
  /** Who lands, for error messages: "source 'events'", "duckstream ingest". */
  readonly what: string;
  /** A top-level field of JSON bodies that identifies a message (wins over the broker's `dedupeId`). */
  readonly dedupeKey?: string;
  /** How many recent identities are kept and rebuilt at open (default 100,000). */
  readonly dedupeWindow?: number;
  /**
   * Broker ids (not dedupe_key values) are rebuilt at open only from this many last records (default
   * `dedupeWindow`): MQTT packet ids are reused by the broker, so only the last in-flight window may still match.
   */
  readonly brokerIdWindow?: number;
  /**
   * Test hook: called after each durable append, before any of its messages is acknowledged (tests SIGKILL the
   * process here to open the duplicate window on purpose). Library callers leave it out.
   */
  readonly afterAppend?: (landedSoFar: number) => void;
}

export interface LanderStats {
  /** Records appended since open. */
  readonly landed: number;
  /** Messages dropped as redelivered duplicates since open. */
  readonly duplicates: number;
  /** fsynced appends (groups) since open. */
  readonly appends: number;
}

interface Pending {
  readonly message: LandingMessage;
  readonly identity: string | undefined;
  /** Whether the identity is checked against the index (see the file comment). */
  readonly checked: boolean;
  readonly resolve: (r: LandOutcome) => void;
  readonly reject: (err: unknown) => void;
}

const DEFAULT_DEDUPE_WINDOW = 100_000;
/** Identities taken from a dedupe_key field start with this; broker ids must not (they are the broker's, e.g. `mqtt:…`). */
const KEY_PREFIX = 'k:';
const MAX_GROUP = 10_000;

/** Lands broker messages in an embedded log, durably, before they are acknowledged (see the file comment). */
export class Lander {
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  private counts = { landed: 0, duplicates: 0, appends: 0 };

  private constructor(
    readonly dir: string,
    private readonly log: EmbeddedLog,
    private readonly index: DedupeIndex,
    private readonly options: LanderOptions,
  ) {}

  /** Open (or create, with one partition) the landing log in `dir`, and rebuild the dedupe index from its tail. */
  static async open(dir: string, options: LanderOptions): Promise<Lander> {
    let log: EmbeddedLog;
    try {
      log = await openLog(dir);
    } catch {
      log = await createLog(dir, { partitions: 1 });
    }
    if (log.partitionCount() !== 1) {
      throw userError(`${options.what}: landing log ${dir} has ${log.partitionCount()} partitions`, 'land into a log with one partition (a new directory)');
    }
    const window = options.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW;
    const index = new DedupeIndex(window);
    const end = log.endOffset(0);
    const from = end - BigInt(window) > log.startOffset(0) ? end - BigInt(window) : log.startOffset(0);
    const tail = log.read(0, from, end);
    const brokerFrom = tail.count - Math.min(options.brokerIdWindow ?? window, window);
    for (let i = 0; i < tail.count; i++) {
      const bytes = tail.headers[i]?.find(([name]) => name === DEDUPE_HEADER)?.[1];
      if (!bytes) continue;
      const id = Buffer.from(bytes).toString('utf8');
      if (id.startsWith(KEY_PREFIX) || i >= brokerFrom) index.add(id);
    }
    return new Lander(dir, log, index, options);
  }

  get stats(): LanderStats {
    return { ...this.counts };
  }

  /** The log's end offset (records landed in it, from every run). */
  endOffset(): bigint {
    return this.log.endOffset(0);
  }

  /** Land one message: resolves once it is durable (or known to be a duplicate); only then may the broker get its ack. */
  land(message: LandingMessage): Promise<LandOutcome> {
    if (this.closed) return Promise.reject(userError(`${this.options.what}: the lander is closed`, 'open it again'));
    return new Promise<LandOutcome>((resolve, reject) => {
      const fromKey = this.keyIdentity(message);
      const identity = fromKey ?? message.dedupeId;
      this.queue.push({ message, identity, checked: fromKey !== undefined || message.redelivered !== false, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  /** Drop `dedupeId` from the index: the broker may give that id to another message from now on (MQTT packet ids). */
  forget(dedupeId: string): void {
    this.index.delete(dedupeId);
  }

  /** Wait for the appends in flight, then release the append lock. Messages not yet landed are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
    await this.log.close();
  }

  /** The `dedupeKey` field of a JSON body, if the lander has one and the body holds it. */
  private keyIdentity(m: LandingMessage): string | undefined {
    const key = this.options.dedupeKey;
    if (key === undefined) return undefined;
    try {
      const body: unknown = JSON.parse(Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength).toString('utf8'));
      if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
        const v = (body as Record<string, unknown>)[key];
        if (v !== undefined && v !== null) return `${KEY_PREFIX}${typeof v === 'string' ? v : JSON.stringify(v)}`;
      }
    } catch {
      // not JSON: the decoder will dead-letter it; it lands with the broker's identity, if any
    }
    return undefined;
  }

  /** Append groups until the queue is empty: one write and one fsync per group (group commit). */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        await this.appendGroup(group);
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async appendGroup(group: readonly Pending[]): Promise<void> {
    const toWrite: Pending[] = [];
    const duplicates: Pending[] = [];
    const inGroup = new Set<string>();
    for (const p of group) {
      const id = p.identity;
      if (id !== undefined && p.checked && (this.index.has(id) || inGroup.has(id))) duplicates.push(p);
      else {
        if (id !== undefined) inGroup.add(id);
        toWrite.push(p);
      }
    }
    try {
      if (toWrite.length > 0) {
        const { baseOffset } = await this.log.append(
          0,
          toWrite.map((p) => ({
            key: p.message.key ?? null,
            value: p.message.value,
            timestamp: p.message.timestamp ?? Date.now(),
            headers: p.identity === undefined ? p.message.headers : [...(p.message.headers ?? []), [DEDUPE_HEADER, p.identity] as const],
          })),
        );
        for (const p of toWrite) if (p.identity !== undefined) this.index.add(p.identity);
        this.counts.landed += toWrite.length;
        this.counts.appends++;
        this.options.afterAppend?.(this.counts.landed);
        toWrite.forEach((p, i) => p.resolve({ outcome: 'landed', offset: baseOffset + BigInt(i) }));
      }
    } catch (err) {
      // Not durable: nothing of this group is acknowledged, so the broker keeps (and redelivers) every message.
      for (const p of group) p.reject(err);
      return;
    }
    this.counts.duplicates += duplicates.length;
    for (const p of duplicates) p.resolve({ outcome: 'duplicate' });
  }
}
