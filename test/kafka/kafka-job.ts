/**
 * Helpers for the Kafka connector tests: run a job file in-process (as `duckstream run` does) and read what
 * the sinks wrote with a separate DuckDB, the way a notebook would.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka, Message } from 'kafkajs';
import type { BatchProgress } from '../../src/driver/progress.js';
import { runJob } from '../../src/driver/run-job.js';
import type { Trigger } from '../../src/driver/trigger.js';
import { Engine, literal, type Row } from '../../src/sql/engine.js';

export function tempDir(prefix = 'ds-kafka-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Produce records (kafkajs, gzip-free, plain producer) and disconnect. */
export async function produce(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 5000) await producer.send({ topic, messages: messages.slice(i, i + 5000), acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

export interface JobRun {
  batches: number;
  progress: BatchProgress[];
  notes: string[];
}

/** Write `sql` to `<dir>/job.sql` and run it to the end of its trigger (default available-now). */
export async function runKafkaJob(
  dir: string,
  sql: string,
  o: { trigger?: Trigger; checkpoint?: string; maxRecordsPerPartition?: number } = {},
): Promise<JobRun> {
  const jobFile = join(dir, 'job.sql');
  writeFileSync(jobFile, sql);
  const progress: BatchProgress[] = [];
  const notes: string[] = [];
  const { batches } = await runJob({
    jobFile,
    checkpoint: o.checkpoint ?? join(dir, 'ck'),
    trigger: o.trigger ?? { kind: 'available-now' },
    caps: o.maxRecordsPerPartition !== undefined ? { maxRecordsPerPartition: o.maxRecordsPerPartition } : undefined,
    onBatch: (p) => progress.push(p),
    note: (m) => notes.push(m),
  });
  return { batches, progress, notes };
}

/** Rows of a query over files (read_json_auto / read_parquet), with a fresh in-memory DuckDB. */
export async function query(sql: string): Promise<Row[]> {
  const engine = await Engine.open();
  try {
    return await engine.allJson(sql);
  } finally {
    engine.close();
  }
}

export function jsonl(path: string): string {
  return `read_json_auto(${literal(join(path, '*.jsonl'))}, format = 'newline_delimited')`;
}

export function parquet(path: string): string {
  return `read_parquet(${literal(join(path, '*.parquet'))})`;
}
