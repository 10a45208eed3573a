import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/sql/engine.js';
import type { SinkBatch } from '../../src/sink/sink.js';

/** A fresh in-memory engine for the duration of fn. */
export async function withEngine<T>(fn: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await Engine.open();
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

/** A fresh directory under os.tmpdir() for the duration of fn. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'duckstream-sink-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Batch `batchId` as a temp table built from a SELECT, the way the driver hands it to sinks. */
export async function makeBatch(engine: Engine, batchId: number, select: string): Promise<SinkBatch> {
  const relation = `"batch_${batchId}_${Math.random().toString(36).slice(2, 8)}"`;
  await engine.run(`CREATE TEMP TABLE ${relation} AS ${select}`);
  const [row] = await engine.all(`SELECT count(*)::INTEGER AS n FROM ${relation}`);
  return { batchId, batchTime: Date.UTC(2025, 0, 1) + batchId * 1000, engine, relation, numRows: Number(row?.['n']) };
}

/** Rows 2k-1 and 2k for batch k: (id, name). */
export function rowsOf(batchId: number): string {
  const a = 2 * batchId - 1;
  const b = 2 * batchId;
  return `SELECT * FROM (VALUES (${a}, 'row-${a}'), (${b}, 'row-${b}')) t(id, name)`;
}
