import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, ident, literal, type Row } from '../../src/sql/engine.js';

/**
 * The correctness oracle (DESIGN §6): the same logic as one DuckDB batch query over all on-time input.
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

/**
 * Which rows the watermark drops, computed independently of the engine: a batch runs with
 * max(event time of all earlier batches) − delay, and a row older than that is late.
 */
export function splitLate<T extends { ts: string }>(batches: readonly (readonly T[])[], delayMs: number): { onTime: T[]; late: T[] } {
  const onTime: T[] = [];
  const late: T[] = [];
  let max = Number.NEGATIVE_INFINITY;
  for (const batch of batches) {
    const watermark = max - delayMs;
    for (const r of batch) (Date.parse(r.ts) < watermark ? late : onTime).push(r);
    for (const r of batch) max = Math.max(max, Date.parse(r.ts));
  }
  return { onTime, late };
}
