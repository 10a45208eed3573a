import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, ident, literal, type Row } from '../../src/sql/engine.js';

/**
 * The correctness oracle (docs/architecture.md#streaming-sql-semantics): the same logic as one DuckDB batch query over all on-time input.
 * `tables` maps a table name to its rows (JSON objects); `columns` fixes their types, as the job declares them.
 */
export async function oracle(sql: string, tables: Record<string, { columns: string; rows: readonly object[] }>): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-oracle-'));
  const engine = await Engine.open();
  try {
    await engine.run(`SET TimeZone = 'UTC'`);
    for (const [name, t] of Object.entries(tables)) {
      const file = join(dir, `${name}.ndjson`);
      writeFileSync(file, t.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      await engine.run(`CREATE TABLE ${ident(name)} AS SELECT * FROM read_ndjson(${literal(file)}, columns = ${t.columns})`);
    }
    return await engine.allJson(sql);
  } finally {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows of one batch from one partition of one source. */
export interface FedRows<T> {
  readonly source: string;
  readonly partition: string;
  readonly rows: readonly T[];
}

/**
 * Which rows the watermark drops, computed independently of the engine: a batch runs with the watermark left by
 * the batches before it: per partition, max event time − delay; per source, the minimum over the partitions that
 * had rows; across sources, the minimum; never moving back. A row older than that is late.
 */
export function simulateWatermark<T extends { ts: string }>(
  batches: readonly (readonly FedRows<T>[])[],
  delayMs: number,
): Map<string, { onTime: T[]; late: T[] }> {
  const out = new Map<string, { onTime: T[]; late: T[] }>();
  const max = new Map<string, Map<string, number>>();
  let watermark = Number.NEGATIVE_INFINITY;
  for (const batch of batches) {
    for (const { source, rows } of batch) {
      const bucket = out.get(source) ?? { onTime: [], late: [] };
      out.set(source, bucket);
      for (const r of rows) (Date.parse(r.ts) < watermark ? bucket.late : bucket.onTime).push(r);
    }
    for (const { source, partition, rows } of batch) {
      const parts = max.get(source) ?? new Map<string, number>();
      max.set(source, parts);
      for (const r of rows) parts.set(partition, Math.max(parts.get(partition) ?? Number.NEGATIVE_INFINITY, Date.parse(r.ts)));
    }
    const sources = [...out.keys()];
    if (sources.every((s) => (max.get(s)?.size ?? 0) > 0)) {
      const next = Math.min(...sources.map((s) => Math.min(...max.get(s)!.values()))) - delayMs;
      watermark = Math.max(watermark, next);
    }
  }
  return out;
}

/** One source: batch i goes to partition `partitionOf(i)`. */
export function splitLate<T extends { ts: string }>(
  batches: readonly (readonly T[])[],
  delayMs: number,
  partitionOf: (batch: number) => string = () => '0',
): { onTime: T[]; late: T[] } {
  return (
    simulateWatermark(
      batches.map((rows, i) => [{ source: 's', partition: partitionOf(i), rows }]),
      delayMs,
    ).get('s') ?? { onTime: [], late: [] }
  );
}
