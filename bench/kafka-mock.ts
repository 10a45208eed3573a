/**
 * librdkafka's mock broker (test/kafka/harness) for benchmarks, and the raw-kafkajs consumption baseline that
 * duckstream's Kafka source is compared with (bench/kafka.ts, bench/nexmark.ts --kafka-events).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Kafka } from 'kafkajs';

/** The harness binary, built on first use (needs librdkafka-dev and gcc). */
function harnessBinary(): string {
  const bin = resolve('test/kafka/harness/mock-broker');
  if (existsSync(bin)) return bin;
  const r = spawnSync('gcc', ['-O2', '-o', bin, resolve('test/kafka/harness/mock_broker.c'), '-lrdkafka'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build the mock broker (apt-get install librdkafka-dev gcc): ${r.stderr}`);
  return bin;
}

export async function startBroker(): Promise<{ bootstrap: string; command: (line: string) => Promise<void>; stop: () => void }> {
  const child = spawn(harnessBinary(), ['1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  const bootstrap = /^BOOTSTRAP (\S+)$/.exec(String(first.value))?.[1];
  if (!bootstrap) throw new Error(`mock broker: unexpected ${String(first.value)}`);
  const command = async (line: string) => {
    child.stdin.write(`${line}\n`);
    const answer = await lines.next();
    if (answer.value !== 'OK') throw new Error(`mock broker: ${line} -> ${String(answer.value)}`);
  };
  return { bootstrap, command, stop: () => child.kill('SIGKILL') };
}

/** One consumer, `eachBatch` touching every value, no processing, until `records` were seen; the group join is timed apart. */
export async function rawKafkajs(kafka: Kafka, topic: string, records: number): Promise<{ totalMs: number; afterJoinMs: number; joinMs: number }> {
  const consumer = kafka.consumer({
    groupId: `bench-raw-${Date.now()}`,
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 16 * 1024 * 1024,
  });
  const t0 = performance.now();
  let joinedAt = t0;
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt = performance.now()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let sum = 0;
  await new Promise<void>((done) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) sum += m.value?.length ?? 0; // touch every record, as any consumer would
        seen += batch.messages.length;
        if (seen >= records) done();
      },
    });
  });
  const end = performance.now();
  await consumer.disconnect();
  if (sum === 0) throw new Error('no bytes read');
  return { totalMs: end - t0, afterJoinMs: end - joinedAt, joinMs: joinedAt - t0 };
}
