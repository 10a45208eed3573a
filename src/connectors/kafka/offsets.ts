import type { Admin, Kafka } from 'kafkajs';
import { externalError } from '../../errors.js';
import { partitionKey, type OffsetRange, type PartitionKey } from '../../plan/offset-range.js';
import { withRetry, type RetryOptions } from '../../util/retry.js';
import { isRetriableKafkaError, kafkaErrorText } from './client.js';

/** Which topics a source reads: a fixed list, or every topic whose name matches a pattern (seen anew each batch). */
export type TopicSelector = { readonly topics: readonly string[] } | { readonly pattern: RegExp };

export interface PartitionBounds {
  /** The log start offset: the first offset still stored. */
  readonly low: bigint;
  /** The end: just past the last readable record (the last stable offset for transactional topics). */
  readonly high: bigint;
}

/** What the source asks the cluster's metadata about (kafkajs admin), every call retried with backoff. */
export class KafkaOffsets {
  private admin: Admin | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly sourceName: string,
    private readonly selector: TopicSelector,
    private readonly retry: RetryOptions,
  ) {}

  /** The topics read now (a pattern is resolved against the cluster's topic list). */
  async topics(): Promise<string[]> {
    const selector = this.selector;
    if ('topics' in selector) return [...selector.topics];
    const all = await this.call('list topics', (a) => a.listTopics());
    return all.filter((t) => selector.pattern.test(t) && !t.startsWith('__')).sort();
  }

  /** Log start and end of every partition of these topics. */
  async bounds(topics: readonly string[]): Promise<Map<PartitionKey, PartitionBounds>> {
    const out = new Map<PartitionKey, PartitionBounds>();
    for (const topic of topics) {
      const parts = await this.call(`topic '${topic}': list offsets`, (a) => a.fetchTopicOffsets(topic));
      for (const p of parts) out.set(partitionKey({ topic, partition: p.partition }), { low: BigInt(p.low), high: BigInt(p.high) });
    }
    return out;
  }

  /** Per partition, the first offset whose record time is >= ms (the end if there is none). */
  async offsetsForTimestamp(topics: readonly string[], ms: number): Promise<Map<PartitionKey, bigint>> {
    const out = new Map<PartitionKey, bigint>();
    for (const topic of topics) {
      const parts = await this.call(`topic '${topic}': offsets for timestamp ${ms}`, (a) => a.fetchTopicOffsetsByTimestamp(topic, ms));
      for (const p of parts) out.set(partitionKey({ topic, partition: p.partition }), BigInt(p.offset));
    }
    return out;
  }

  /**
   * Store the ranges' ends as the committed offsets of `groupId`, for lag tools. A standalone commit (generation -1,
   * no member), as a consumer with manually assigned partitions does: duckstream never joins `groupId`. A group with
   * live members of its own refuses it (that is Kafka protecting them); the caller treats any failure as advisory.
   */
  async commitGroup(groupId: string, ranges: readonly OffsetRange[]): Promise<void> {
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const r of ranges) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ partition: r.partition, offset: r.until.toString() });
      byTopic.set(r.topic, list);
    }
    if (byTopic.size === 0) return;
    const topics = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    const cluster = await this.cluster();
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    const response = await coordinator.offsetCommit({ groupId, memberId: '', groupGenerationId: -1, topics });
    for (const t of response.responses) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0)
          throw externalError(`group '${groupId}': offset commit of ${t.topic} partition ${p.partition} refused (error code ${p.errorCode})`, false);
      }
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
    const cluster = this.committer;
    this.committer = undefined;
    await cluster?.disconnect().catch(() => undefined);
  }

  private async call<T>(what: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
    try {
      return await withRetry(
        async () => {
          if (!this.admin) {
            const admin = this.kafka.admin();
            await admin.connect();
            this.admin = admin;
          }
          return fn(this.admin);
        },
        { ...this.retry, isRetriable: isRetriableKafkaError },
      );
    } catch (err) {
      throw externalError(`kafka source '${this.sourceName}': ${what} failed: ${kafkaErrorText(err)}`, isRetriableKafkaError(err), err);
    }
  }

  private committer: InternalCluster | undefined;

  /**
   * kafkajs's own cluster object (2.2.x): its public admin API cannot commit without joining the group
   * (`admin.setOffsets` needs DescribeGroups and an empty group), a standalone OffsetCommit needs the coordinator.
   */
  private async cluster(): Promise<InternalCluster> {
    if (this.committer) return this.committer;
    const symbol = Object.getOwnPropertySymbols(this.kafka).find((s) => s.description === 'private:Kafka:createCluster');
    if (!symbol) throw externalError('this kafkajs version has no internal cluster factory (duckstream needs kafkajs 2.2.x for group commits)', false);
    const create = (this.kafka as unknown as Record<symbol, (o: object) => InternalCluster>)[symbol]!;
    const cluster = create({});
    await cluster.connect();
    this.committer = cluster;
    return cluster;
  }
}

interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(o: { groupId: string }): Promise<{
    offsetCommit(o: {
      groupId: string;
      memberId: string;
      groupGenerationId: number;
      topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
    }): Promise<{
      responses: { topic: string; partitions: { partition: number; errorCode: number }[] }[];
    }>;
  }>;
}
