import { CompressionTypes, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import { DuckstreamError, externalError } from '../../errors.js';
import { createKafka, isRetriableKafkaError, kafkaErrorText } from './client.js';
import type { Engine } from '../../sql/engine.js';
import { withRetry, type RetryOptions } from '../../util/retry.js';
import { recordQuery, toMessages, type RecordShape } from './kafka-records.js';
import type { Sink, SinkBatch } from '../../sink/sink.js';
import type { KafkaConfig } from 'kafkajs';

export const kafkaCompressions = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export interface KafkaSinkConfig {
  readonly client: KafkaConfig;
  readonly topic: string;
  readonly shape: RecordShape;
  /** Set: exactly-once through Kafka transactions. Unset: at-least-once. */
  readonly transactionalId: string | undefined;
  /** Idempotent producer (no duplicates from the producer's own retries); needs a broker that grants producer ids. */
  readonly idempotent: boolean;
  readonly compression: (typeof kafkaCompressions)[number];
  readonly retry: RetryOptions;
  /** Let kafkajs log its errors (KafkaClientOptions.log). */
  readonly log?: boolean;
}

/**
 * Writes each batch's rows to a Kafka topic (docs/architecture.md#sink-contract), every record with the batch id in a header.
 *
 * With `transactional_id`: each batch is one Kafka transaction that also commits, through `sendOffsets`, the
 * batch id as the offset of partition 0 of the sink topic in the group `<transactional_id>.batches`. The records
 * and that marker become visible together or not at all; on start the sink reads the marker back, and a replayed
 * batch (a crash after the transaction committed but before the checkpoint's commit log) whose id is at or below
 * it is skipped. A new producer with the same transactional id fences the old one (a zombie driver cannot commit).
 * Readers must use isolation.level=read_committed. Without `transactional_id`: at-least-once (a replayed batch is
 * written again; its records carry the same batch id header, so readers can drop duplicates).
 */
export class KafkaSink implements Sink {
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  /** Transactional mode: the highest batch id whose transaction committed (from the marker group). */
  private committedBatch = -1;

  constructor(
    readonly name: string,
    private readonly config: KafkaSinkConfig,
  ) {
    this.kafka = createKafka(config.client, { log: config.log });
  }

  get markerGroup(): string | undefined {
    return this.config.transactionalId ? `${this.config.transactionalId}.batches` : undefined;
  }

  async open(_engine: Engine): Promise<void> {
    await this.retrying('connect', async () => {
      await this.ensureAdmin();
    });
    const group = this.markerGroup;
    if (group) {
      const offsets = await this.retrying('read the last committed batch', () => this.admin!.fetchOffsets({ groupId: group, topics: [this.config.topic] }));
      const p0 = offsets[0]?.partitions.find((p) => p.partition === 0);
      this.committedBatch = p0 && Number(p0.offset) > 0 ? Number(p0.offset) - 1 : -1;
    }
  }

  async addBatch(batch: SinkBatch): Promise<void> {
    if (this.markerGroup && batch.batchId <= this.committedBatch) return; // already committed in Kafka: a replay
    const sql = await recordQuery(batch.engine, batch.relation, this.config.shape, this.name);
    const rows = await batch.engine.all(sql);
    const partitions = await this.retrying('read partitions', async () => {
      const meta = await (await this.ensureAdmin()).fetchTopicMetadata({ topics: [this.config.topic] });
      return meta.topics[0]?.partitions.length ?? 0;
    });
    if (partitions === 0) throw externalError(`kafka sink '${this.name}': topic '${this.config.topic}' has no partitions`, false);
    const messages = toMessages(rows, { batchId: batch.batchId, partitions, sinkName: this.name, topic: this.config.topic });
    if (this.config.transactionalId) await this.retrying(`write batch ${batch.batchId} in a transaction`, () => this.sendTransaction(batch.batchId, messages));
    else await this.retrying(`write batch ${batch.batchId}`, () => this.send(messages));
    this.committedBatch = batch.batchId;
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.producer = undefined;
    this.admin = undefined;
  }

  private async send(messages: Message[]): Promise<void> {
    const producer = await this.ensureProducer();
    if (messages.length === 0) return;
    await producer.send({ topic: this.config.topic, messages, acks: -1, compression: this.compression() });
  }

  private async sendTransaction(batchId: number, messages: Message[]): Promise<void> {
    const producer = await this.ensureProducer();
    const txn = await producer.transaction();
    try {
      if (messages.length > 0) await txn.send({ topic: this.config.topic, messages, acks: -1, compression: this.compression() });
      await txn.sendOffsets({
        consumerGroupId: this.markerGroup!,
        topics: [{ topic: this.config.topic, partitions: [{ partition: 0, offset: String(batchId + 1) }] }],
      });
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => undefined);
      // Any EndTxn error wedges a kafkajs transactional producer (docs/architecture.md#known-hazards): start over with a new one.
      await this.dropProducer();
      throw err;
    }
  }

  private compression(): CompressionTypes {
    const map = {
      none: CompressionTypes.None,
      gzip: CompressionTypes.GZIP,
      snappy: CompressionTypes.Snappy,
      lz4: CompressionTypes.LZ4,
      zstd: CompressionTypes.ZSTD,
    } as const;
    return map[this.config.compression];
  }

  private async ensureAdmin(): Promise<Admin> {
    if (this.admin) return this.admin;
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    return admin;
  }

  private async ensureProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    const transactional = this.config.transactionalId !== undefined;
    const producer = this.kafka.producer({
      allowAutoTopicCreation: false,
      // kafkajs: a transaction gets its own idempotent producer id from the transaction coordinator; the
      // producer-level flag only concerns plain sends (and asks the controller, which the mock lacks).
      idempotent: !transactional && this.config.idempotent,
      ...(transactional && { transactionalId: this.config.transactionalId, maxInFlightRequests: 1 }),
      // An idempotent (or transactional) producer must retry a send itself: its retries resend with the same
      // sequence numbers, which is what keeps them from writing duplicates, and kafkajs refuses `retries: 0` for it.
      // `retrying` around a batch then only starts over once the producer has given up (or wedged, docs/architecture.md#known-hazards).
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 5 },
    });
    await producer.connect();
    this.producer = producer;
    return producer;
  }

  private async dropProducer(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    await p?.disconnect().catch(() => undefined);
  }

  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, {
        ...this.config.retry,
        isRetriable: (err) => (err instanceof DuckstreamError ? err.retriable : isRetriableKafkaError(err)),
        onRetry: async (_err, _attempt) => {
          if (!this.config.transactionalId) return;
          await this.dropProducer();
        },
      });
    } catch (err) {
      if (err instanceof DuckstreamError) throw err;
      throw externalError(`kafka sink '${this.name}': topic '${this.config.topic}': ${what} failed: ${kafkaErrorText(err)}`, false, err);
    }
  }
}
