import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { DuckstreamError, externalError, userError } from '../../errors.js';
import type { Sink, SinkBatch } from '../../sink/sink.js';
import { ident, type Engine } from '../../sql/engine.js';
import { withRetry, type RetryOptions } from '../../util/retry.js';
import { isRetriableNatsError, natsErrorText } from './client.js';

/** Headers of every message a duckstream NATS sink publishes. */
export const BATCH_ID_HEADER = 'Duckstream-Batch-Id';
export const ROW_HEADER = 'Duckstream-Row';
export const ROWS_HEADER = 'Duckstream-Rows';
export const SINK_HEADER = 'Duckstream-Sink';

export interface NatsSinkConfig {
  readonly subject: string;
  /** First part of each `Nats-Msg-Id`: `<jobId>/<batch>/<row>`. */
  readonly jobId: string;
  readonly maxInFlight: number;
  readonly retry: RetryOptions;
  readonly requestTimeoutMs: number;
  /** Opens the connection (at `open`). */
  readonly connect: () => Promise<NatsConnection>;
}

/** What the last message on the subject says about the batch it belongs to. */
interface LastPublished {
  readonly batchId: number;
  readonly row: number;
  readonly rows: number;
  /** When the server stored it, ms since the epoch. */
  readonly storedMs: number;
}

/**
 * Publishes each batch's rows to a JetStream subject as JSON, one message per row, in a deterministic order (rows
 * sorted by their JSON), every message with `Nats-Msg-Id = <job_id>/<batch>/<row>` and the batch id, row number and
 * row count in headers, each publish awaited for its ack (docs/connectors/nats.md#guarantees).
 *
 * Exactly-once: a replayed batch within the stream's duplicate window is dropped message by message by the server
 * (same ids). Beyond it, the sink reads the last message on its subject at start: a batch below that one's id, or
 * that batch itself when its last row is there, was published whole and is skipped; a batch cut short (a crash
 * between two publishes) is completed from the row after the last one stored. The subject must be this sink's alone.
 */
export class NatsSink implements Sink {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private streamName: string | undefined;
  private duplicateWindowMs = 0;
  private last: LastPublished | undefined;

  constructor(
    readonly name: string,
    private readonly config: NatsSinkConfig,
  ) {}

  async open(_engine: Engine): Promise<void> {
    this.nc = await this.config.connect();
    this.js = jetstream(this.nc, { timeout: this.config.requestTimeoutMs });
    this.jsm = await jetstreamManager(this.nc, { timeout: this.config.requestTimeoutMs });
    const subject = this.config.subject;
    this.streamName = await this.retrying('find its stream', async () => {
      try {
        return await this.jsm!.streams.find(subject);
      } catch (err) {
        if (/no stream matches subject|stream not found/i.test(natsErrorText(err)))
          throw userError(
            `nats sink '${this.name}': no JetStream stream stores subject '${subject}'`,
            `create one (nats stream add <name> --subjects '${subject}')`,
          );
        throw err;
      }
    });
    const info = await this.retrying('read its stream', () => this.jsm!.streams.info(this.streamName!));
    this.duplicateWindowMs = (info.config.duplicate_window ?? 0) / 1e6;
    this.last = await this.retrying('read the last message on its subject', () => this.lastPublished());
  }

  async addBatch(batch: SinkBatch): Promise<void> {
    const last = this.last;
    if (last && (batch.batchId < last.batchId || (batch.batchId === last.batchId && last.row >= last.rows - 1))) return; // published whole: a replay
    const values = await rowsAsJson(batch.engine, batch.relation);
    let start = 0;
    // A batch cut short: beyond the duplicate window the server no longer drops what it has, so start after it.
    if (last && batch.batchId === last.batchId && Date.now() - last.storedMs >= this.duplicateWindowMs * 0.9) start = last.row + 1;
    if (values.length > 0 && start < values.length) await this.retrying(`publish batch ${batch.batchId}`, () => this.publish(batch.batchId, values, start));
    this.last = { batchId: batch.batchId, row: values.length - 1, rows: values.length, storedMs: Date.now() };
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    await nc?.close().catch(() => undefined);
  }

  private async publish(batchId: number, values: readonly string[], start: number): Promise<void> {
    const js = this.js!;
    const rows = String(values.length);
    const batch = String(batchId);
    let inFlight: Promise<PubAck>[] = [];
    for (let i = start; i < values.length; i++) {
      const h = headers();
      h.set(BATCH_ID_HEADER, batch);
      h.set(ROW_HEADER, String(i));
      h.set(ROWS_HEADER, rows);
      h.set(SINK_HEADER, this.name);
      inFlight.push(
        js.publish(this.config.subject, values[i]!, { msgID: `${this.config.jobId}/${batchId}/${i}`, headers: h, expect: { streamName: this.streamName! } }),
      );
      if (inFlight.length >= this.config.maxInFlight) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
  }

  private async lastPublished(): Promise<LastPublished | undefined> {
    const m = await this.jsm!.streams.getMessage(this.streamName!, { last_by_subj: this.config.subject });
    if (!m) return undefined;
    const h = m.header;
    const header = (name: string): number => {
      const v = h?.get(name) ?? '';
      return /^[0-9]+$/.test(v) ? Number(v) : NaN;
    };
    const batchId = header(BATCH_ID_HEADER);
    const row = header(ROW_HEADER);
    const rows = header(ROWS_HEADER);
    if (![batchId, row, rows].every(Number.isSafeInteger))
      throw userError(
        `nats sink '${this.name}': the last message on subject '${this.config.subject}' (sequence ${m.seq}) was not published by a duckstream sink`,
        'give the sink a subject of its own: it reads its last message to publish every batch exactly once',
      );
    return { batchId, row, rows, storedMs: m.time.getTime() };
  }

  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, {
        ...this.config.retry,
        isRetriable: (err) => (err instanceof DuckstreamError ? err.retriable : isRetriableNatsError(err)),
      });
    } catch (err) {
      if (err instanceof DuckstreamError) throw err;
      throw externalError(`nats sink '${this.name}': subject '${this.config.subject}': ${what} failed: ${natsErrorText(err)}`, false, err);
    }
  }
}

/** The batch's rows as JSON objects, sorted: a replay of the batch numbers its rows the same way. */
async function rowsAsJson(engine: Engine, relation: string): Promise<string[]> {
  const columns = (await engine.all(`DESCRIBE ${relation}`)).map((r) => String(r['column_name']));
  const value = `to_json(struct_pack(${columns.map((c) => `${ident(c)} := ${ident(c)}`).join(', ')}))::VARCHAR`;
  const rows = await engine.all(`SELECT ${value} AS v FROM ${relation} ORDER BY v`);
  return rows.map((r) => String(r['v']));
}
