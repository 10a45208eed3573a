import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLog } from '../../src/log/index.js';
import type { OffsetRange } from '../../src/plan/offset-range.js';
import { LogSource } from '../../src/connectors/log/log-source.js';
import { parseSchemaText } from '../../src/source/schema.js';
import type { SourceBatch } from '../../src/source/source.js';

/* LogSource.keepColumns: the pruned batch has the kept columns and every dead letter of the whole one. */

const SCHEMA = parseSchemaText('i INTEGER, s VARCHAR, t TIMESTAMP, r VARCHAR NOT NULL');
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ds-pruned-read-'));
  const log = await createLog(join(dir, 'events'), { partitions: 2 });
  for (let p = 0; p < 2; p++) {
    await log.append(
      p,
      Array.from({ length: 300 }, (_, k) => {
        const plain = { i: k, s: `s${k}`, t: '2024-05-01T00:00:00Z', r: `r${k}` };
        const value = k % 10 === 3 ? JSON.stringify({ ...plain, t: 'later' }) : k % 10 === 7 ? JSON.stringify({ i: k }) : JSON.stringify(plain);
        return { value, key: null, timestamp: 1_700_000_000_000 + k };
      }),
    );
  }
  await log.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function read(keep: readonly string[] | undefined): Promise<{ batch: SourceBatch; readSchema: string[] }> {
  const source = await LogSource.open('events', join(dir, 'events'), {
    format: 'json',
    schema: SCHEMA,
    maxValueBytes: undefined,
    startingPosition: 'earliest',
    timestampColumns: [],
  });
  try {
    source.keepColumns(keep);
    const ranges: OffsetRange[] = [0, 1].map((partition) => ({ topic: 'events', partition, from: 0n, until: 300n }));
    return { batch: await source.read(ranges), readSchema: source.readSchema!.map((c) => c.name) };
  } finally {
    await source.close();
  }
}

const values = (b: SourceBatch) => b.table.schema.fields.map((f) => [f.name, [...b.table.getChild(f.name)!].map(String)]);

describe('LogSource.keepColumns', () => {
  it('returns only the kept columns, with every dead letter', async () => {
    const main = await read(['S', 'i']);
    const full = await read(undefined);
    expect(main.readSchema).toEqual(['i', 's']);
    expect(full.readSchema).toEqual(['i', 's', 't', 'r']);
    expect(main.batch.table.schema.fields.map((f) => f.name)).toEqual(['_topic', '_partition', '_offset', '_timestamp', '_key', 'i', 's']);
    expect(values(main.batch)).toEqual(values(full.batch).filter(([n]) => n !== 't' && n !== 'r'));
    expect(main.batch.deadLetters.length).toBe(120);
    expect(main.batch.deadLetters).toStrictEqual(full.batch.deadLetters);
  });
});
