/**
 * Proves the mock-broker harness is a real Kafka-protocol broker for kafkajs
 * and kcat, and that its fault injection actually bites.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { describeKafka, kafkaClient, randomTopic, runKcat, startMockCluster, type MockCluster } from './mock-cluster.js';

interface Rec {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  timestamp?: string;
  headers?: Record<string, string>;
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads `count` records from `topic` from the beginning with a one-member group. */
async function consumeAll(kafka: Kafka, topic: string, count: number, opts: { withMeta?: boolean; timeoutMs?: number } = {}): Promise<Rec[]> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const consumer = kafka.consumer({ groupId: randomTopic('g'), allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
  const got: Rec[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }: EachBatchPayload) => {
        for (const m of batch.messages) {
          const rec: Rec = {
            partition: batch.partition,
            offset: m.offset,
            key: m.key?.toString('utf8') ?? null,
            value: m.value?.toString('utf8') ?? null,
          };
          if (opts.withMeta) {
            rec.timestamp = m.timestamp;
            rec.headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
          }
          got.push(rec);
        }
      },
    });
    await waitFor(() => got.length >= count, timeoutMs, `${count} records from ${topic} (got ${got.length})`);
    // Give a duplicate / extra record a chance to show up before asserting.
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

const byPartitionOffset = (a: Rec, b: Rec): number => a.partition - b.partition || Number(a.offset) - Number(b.offset);

describeKafka('mock broker harness', () => {
  let cluster: MockCluster;
  let kafka: Kafka;

  beforeAll(async () => {
    cluster = await startMockCluster({ brokers: 3 });
    kafka = kafkaClient(cluster);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('starts with one BOOTSTRAP address per broker and answers ERR on bad commands', async () => {
    expect(cluster.bootstrap).toHaveLength(3);
    for (const b of cluster.bootstrap) expect(b).toMatch(/^127\.0\.0\.1:\d+$/);
    await expect(cluster.command('nonsense')).rejects.toThrow(/unknown command/);
    await expect(cluster.pushErrors('NoSuchApi', 1, 'NOT_LEADER_OR_FOLLOWER')).rejects.toThrow(/unknown api/);
    await expect(cluster.pushErrors('Fetch', 1, 'NO_SUCH_ERROR')).rejects.toThrow(/unknown error code/);
    const t = randomTopic('dup');
    await cluster.createTopic(t, 1);
    await expect(cluster.createTopic(t, 1)).rejects.toThrow(/TOPIC_ALREADY_EXISTS/);
    await expect(cluster.brokerDown(99)).rejects.toThrow(/ERR/);
    await cluster.command('ping');
  });

  it('harness exits on stdin EOF (dies with the test process)', async () => {
    const { spawn } = await import('node:child_process');
    const { buildHarness } = await import('./mock-cluster.js');
    const child = spawn(buildHarness(), ['1'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    expect(first).toMatch(/^BOOTSTRAP 127\.0\.0\.1:\d+\n$/);
    const code = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    expect(await code).toBe(0);
    clearTimeout(timer);
  });

  it('(a) kafkajs round trip: 1000 records over 3 partitions, exact keys/values/offsets/timestamps/headers', async () => {
    const topic = randomTopic('roundtrip');
    await cluster.createTopic(topic, 3);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (let batch = 0; batch < 10; batch++) {
        const messages = [];
        for (let j = 0; j < 100; j++) {
          const i = batch * 100 + j;
          messages.push({
            partition: i % 3,
            key: `k${i}`,
            // one null value (tombstone) to prove nulls survive
            value: i === 500 ? null : `v${i}`,
            timestamp: String(1_700_000_000_000 + i),
            headers: { i: String(i) },
          });
        }
        await producer.send({ topic, messages, acks: -1 });
      }
    } finally {
      await producer.disconnect();
    }

    const got = (await consumeAll(kafka, topic, 1000, { withMeta: true })).sort(byPartitionOffset);
    const expected: Rec[] = [];
    for (let p = 0; p < 3; p++) {
      for (let i = p; i < 1000; i += 3) {
        expected.push({
          partition: p,
          offset: String((i - p) / 3),
          key: `k${i}`,
          value: i === 500 ? null : `v${i}`,
          timestamp: String(1_700_000_000_000 + i),
          headers: { i: String(i) },
        });
      }
    }
    expect(got).toEqual(expected);
  });

  it('(b) kcat interop: every codec kcat writes reads back exactly', async () => {
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      const topic = randomTopic(`kcat-${codec}`);
      await cluster.createTopic(topic, 2);
      const lines0 = Array.from({ length: 50 }, (_, i) => `key${i}:${codec}-value-${i}-${'x'.repeat(i)}`);
      const lines1 = Array.from({ length: 7 }, (_, i) => `p1key${i}:${codec}-p1-${i}`);
      await runKcat(['-P', '-b', cluster.bootstrap.join(','), '-t', topic, '-p', '0', '-K', ':', '-z', codec], {
        input: `${lines0.join('\n')}\n`,
      });
      await runKcat(['-P', '-b', cluster.bootstrap.join(','), '-t', topic, '-p', '1', '-K', ':', '-z', codec], {
        input: `${lines1.join('\n')}\n`,
      });
      const out = await runKcat(['-C', '-b', cluster.bootstrap.join(','), '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%p %o %k %s\n']);
      const expected = [...lines0.map((l, i) => `0 ${i} ${l.replace(':', ' ')}`), ...lines1.map((l, i) => `1 ${i} ${l.replace(':', ' ')}`)];
      // kcat interleaves partitions arbitrarily; within a partition order is kept.
      const outLines = out.split('\n').filter((l) => l !== '');
      expect(
        outLines.filter((l) => l.startsWith('0 ')),
        codec,
      ).toEqual(expected.filter((l) => l.startsWith('0 ')));
      expect(
        outLines.filter((l) => l.startsWith('1 ')),
        codec,
      ).toEqual(expected.filter((l) => l.startsWith('1 ')));
      expect(outLines, codec).toHaveLength(57);
    }
  });

  it('(b) kcat reads what kafkajs wrote (plain and gzip); kafkajs reads kcat gzip', async () => {
    const { CompressionTypes } = await import('kafkajs');
    const topic = randomTopic('js2kcat');
    await cluster.createTopic(topic, 3);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: Array.from({ length: 30 }, (_, i) => ({ partition: i % 3, key: `k${i}`, value: `plain ${i}` })),
      });
      await producer.send({
        topic,
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: 30 }, (_, i) => ({ partition: i % 3, key: `g${i}`, value: `gzip ${i}` })),
      });
    } finally {
      await producer.disconnect();
    }
    const out = await runKcat(['-C', '-b', cluster.bootstrap.join(','), '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%p %o %k %s\n']);
    const sortKey = (l: string): [number, number] => {
      const [p, o] = l.split(' ');
      return [Number(p), Number(o)];
    };
    const lines = out
      .split('\n')
      .filter((l) => l !== '')
      .sort((a, b) => sortKey(a)[0] - sortKey(b)[0] || sortKey(a)[1] - sortKey(b)[1]);
    const expected: string[] = [];
    for (let p = 0; p < 3; p++) {
      let o = 0;
      for (let i = p; i < 30; i += 3) expected.push(`${p} ${o++} k${i} plain ${i}`);
      for (let i = p; i < 30; i += 3) expected.push(`${p} ${o++} g${i} gzip ${i}`);
    }
    expect(lines).toEqual(expected);

    const gz = randomTopic('kcat2js');
    await cluster.createTopic(gz, 1);
    await runKcat(['-P', '-b', cluster.bootstrap.join(','), '-t', gz, '-K', ':', '-z', 'gzip'], {
      input: Array.from({ length: 20 }, (_, i) => `k${i}:v${i}\n`).join(''),
    });
    const got = (await consumeAll(kafka, gz, 20)).sort(byPartitionOffset);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => ({ partition: 0, offset: String(i), key: `k${i}`, value: `v${i}` })));
  });

  it('topic_error makes a topic UNKNOWN to kafkajs; without it the mock auto-creates any topic asked for (4 partitions)', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const unknown = randomTopic('unknown');
      await cluster.command(`topic_error ${unknown} UNKNOWN_TOPIC_OR_PART`);
      try {
        await expect(admin.fetchTopicMetadata({ topics: [unknown] })).rejects.toThrow(/does not host this topic-partition/);
      } finally {
        // Must be cleared: kafkajs's all-topics Metadata requests (e.g. an admin
        // looking up a group coordinator) fail whole while any topic has an error.
        await cluster.command(`topic_error ${unknown} NO_ERROR`);
      }
      // Quirk canary: Metadata auto-creates even though kafkajs admin asks allowAutoTopicCreation=false.
      const auto = randomTopic('autocreated');
      const md = await admin.fetchTopicMetadata({ topics: [auto] });
      expect(md.topics[0]?.partitions).toHaveLength(4);
    } finally {
      await admin.disconnect();
    }
  });

  it('(d) fetchTopicOffsets returns exact low/high watermarks', async () => {
    const topic = randomTopic('wm');
    await cluster.createTopic(topic, 3);
    const counts = [5, 0, 12];
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const messages = counts.flatMap((n, p) => Array.from({ length: n }, (_, i) => ({ partition: p, value: `p${p}-${i}` })));
      await producer.send({ topic, messages });
    } finally {
      await producer.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
      expect(offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high }))).toEqual([
        { partition: 0, low: '0', high: '5' },
        { partition: 1, low: '0', high: '0' },
        { partition: 2, low: '0', high: '12' },
      ]);
    } finally {
      await admin.disconnect();
    }
  });

  it('(d) consumer-group commit round-trips through admin.fetchOffsets', async () => {
    const topic = randomTopic('commit');
    await cluster.createTopic(topic, 2);
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `v${i}` })) });
    await producer.disconnect();

    const groupId = randomTopic('commit-group');
    const consumer: Consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
    let seen = 0;
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length;
        },
      });
      await waitFor(() => seen >= 10, 20_000, 'commit-topic records');
      await consumer.commitOffsets([
        { topic, partition: 0, offset: '3' },
        { topic, partition: 1, offset: '5' },
      ]);
    } finally {
      await consumer.disconnect();
    }

    const admin = kafka.admin();
    await admin.connect();
    try {
      const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect(res?.topic).toBe(topic);
      expect(res?.partitions.map((p) => ({ partition: p.partition, offset: p.offset })).sort((a, b) => a.partition - b.partition)).toEqual([
        { partition: 0, offset: '3' },
        { partition: 1, offset: '5' },
      ]);
      const other = await admin.fetchOffsets({ groupId: randomTopic('never-committed'), topics: [topic] });
      expect(other[0]?.partitions.map((p) => p.offset)).toEqual(['-1', '-1']);
    } finally {
      await admin.disconnect();
    }
  });
});

describeKafka('mock broker fault injection', () => {
  let cluster: MockCluster;
  let kafka: Kafka;

  beforeAll(async () => {
    cluster = await startMockCluster({ brokers: 3 });
    kafka = kafkaClient(cluster);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  function countRequests(p: Producer, apiKey: number): { n: number } {
    const c = { n: 0 };
    p.on(p.events.REQUEST, (e) => {
      if (e.payload.apiKey === apiKey) c.n++;
    });
    return c;
  }

  it('(c) pushErrors(Produce, NOT_LEADER_OR_FOLLOWER): fails without retries, retried to success with them, nothing lost or duplicated', async () => {
    const topic = randomTopic('produce-err');
    await cluster.createTopic(topic, 1);

    // Without retries the injected error surfaces: proves injection happens.
    const noRetry = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await noRetry.connect();
    try {
      await cluster.pushErrors('Produce', 1, 'NOT_LEADER_OR_FOLLOWER');
      await expect(noRetry.send({ topic, messages: [{ value: 'lost-0' }] })).rejects.toThrow(/leader/i);
    } finally {
      await noRetry.disconnect();
    }

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const produceRequests = countRequests(producer, 0);
    await producer.connect();
    try {
      await cluster.pushErrors('Produce', 2, 'NOT_LEADER_OR_FOLLOWER');
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
      expect(produceRequests.n).toBe(3); // 2 rejected + 1 accepted
    } finally {
      await producer.disconnect();
    }

    const out = await runKcat(['-C', '-b', cluster.bootstrap.join(','), '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%o %k %s\n']);
    expect(out).toBe(Array.from({ length: 10 }, (_, i) => `${i} k${i} v${i}\n`).join(''));
  });

  it('(c) brokerDown(leader): sends to its partition fail while other partitions work; brokerUp heals', async () => {
    const topic = randomTopic('down');
    await cluster.createTopic(topic, 3);
    for (let p = 0; p < 3; p++) await cluster.setLeader(topic, p, p + 1);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const leaders = md.topics[0]?.partitions.map((p) => [p.partitionId, p.leader]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
      expect(leaders).toEqual([
        [0, 1],
        [1, 2],
        [2, 3],
      ]);
    } finally {
      await admin.disconnect();
    }

    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } });
    await producer.connect();
    try {
      await cluster.brokerDown(2);
      const t0 = Date.now();
      await expect(producer.send({ topic, messages: [{ partition: 1, value: 'to-down-broker' }] })).rejects.toThrow();
      const failMs = Date.now() - t0;
      await producer.send({
        topic,
        messages: [
          { partition: 0, value: 'p0' },
          { partition: 2, value: 'p2' },
        ],
      });

      await cluster.brokerUp(2);
      await producer.send({ topic, messages: [{ partition: 1, value: 'p1-after-up' }] });
      expect(failMs).toBeLessThan(15_000);
    } finally {
      await producer.disconnect();
    }

    const out = await runKcat(['-C', '-b', cluster.bootstrap.join(','), '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%p %o %s\n']);
    expect(
      out
        .split('\n')
        .filter((l) => l)
        .sort(),
    ).toEqual(['0 0 p0', '1 0 p1-after-up', '2 0 p2']);
  });

  it('(c) all brokers down: admin call rejects; back up: it succeeds', async () => {
    const topic = randomTopic('alldown');
    await cluster.createTopic(topic, 1);
    const admin = kafkaClient(cluster, { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } }).admin();
    await admin.connect();
    try {
      await cluster.brokerDown(-1);
      await expect(admin.fetchTopicOffsets(topic)).rejects.toThrow();
      await cluster.brokerUp(-1);
      const offs = await admin.fetchTopicOffsets(topic);
      expect(offs.map((o) => o.high)).toEqual(['0']);
    } finally {
      await cluster.brokerUp(-1);
      await admin.disconnect();
    }
  });
});
