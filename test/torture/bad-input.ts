import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createLog } from '../../src/log/index.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { duckstream } from '../support/cli.js';
import { canonical } from '../support/stream-test.js';
import { report } from './harness.js';

/** One class of bad input: a value no decoder should turn into a row, and a word the reason must contain. */
interface BadClass {
  readonly name: string;
  readonly value: Uint8Array;
}

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** The corpus: every class of bad value the issue names, and a few more. None of them is a valid row of SCHEMA. */
export function badClasses(): BadClass[] {
  const deep = 100_000;
  return [
    { name: 'not JSON', value: text('hello, world') },
    { name: 'truncated', value: text('{"id": 5, "n": 1') },
    { name: 'array', value: text('[1, 2, 3]') },
    { name: 'scalar', value: text('42') },
    { name: 'JSON null', value: text('null') },
    { name: 'wrong type', value: text('{"id": 6, "n": "abc"}') },
    { name: '1.5 into BIGINT', value: text('{"id": 7, "n": 1.5}') },
    { name: 'integer overflow', value: text('{"id": 8, "n": 99999999999999999999}') },
    { name: 'bad timestamp', value: text('{"id": 9, "ts": "2026-13-45T99:00:00Z"}') },
    { name: 'invalid UTF-8', value: Buffer.concat([text('{"id": 10, "s": "'), Buffer.from([0xff, 0xfe]), text('"}')]) },
    { name: 'NUL bytes', value: Buffer.concat([text('{"id": 11, "s": "a'), Buffer.from([0]), text('b"}')]) },
    { name: '100,000-deep nesting', value: text(`{"id": 12, "s": ${'['.repeat(deep)}${']'.repeat(deep)}}`) },
    { name: '3 MiB value', value: text(`{"id": 13, "s": "${'x'.repeat(3 * 1024 * 1024)}"}`) },
    { name: 'empty value', value: new Uint8Array(0) },
    { name: 'BOM', value: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text('{"id": 14}')]) },
    { name: 'null in a NOT NULL column', value: text('{"id": null, "n": 1}') },
    { name: 'NOT NULL column missing', value: text('{"n": 2}') },
    { name: 'two values', value: text('{"id": 15} {"id": 16}') },
  ];
}

const SCHEMA = 'id BIGINT NOT NULL, n BIGINT, ts TIMESTAMP, s VARCHAR';

/**
 * Good records with every bad class between them, through a real `duckstream run`: each bad record must be a dead
 * letter with its topic, partition, offset and a reason; no crash; rows out + dead letters = records in, and the
 * rows are exactly the good records.
 */
export async function badInput(): Promise<{ classes: number; records: number; rows: number; deadLetters: number; reasons: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-torture-bad-'));
  try {
    const bad = badClasses();
    const good = Array.from({ length: 200 }, (_, i) => ({ id: 1000 + i, n: i * 7, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), s: `ok ${i}` }));
    // Partition 0: good records with a bad one after every 10th, so that bad input sits between good rows.
    const values: { value: Uint8Array; bad?: string }[] = [];
    good.forEach((g, i) => {
      values.push({ value: text(JSON.stringify(g)) });
      const b = bad[Math.floor(i / 10)];
      if (i % 10 === 9 && b) values.push({ value: b.value, bad: b.name });
    });
    expect(values.filter((v) => v.bad).length).toBe(bad.length);
    const log = await createLog(join(dir, 'log'), { partitions: 1 });
    await log.append(
      0,
      values.map((v) => ({ value: v.value })),
    );
    await log.close();
    const job = join(dir, 'job.sql');
    writeFileSync(
      job,
      `CREATE SOURCE ev WITH (connector = 'log', path = '${dir}/log', format = 'json', schema = '${SCHEMA}', dead_letter_path = '${dir}/dead');
CREATE SINK rows WITH (connector = 'parquet', path = '${dir}/out/rows') AS SELECT id, n, ts, s FROM ev;`,
    );
    const run = duckstream(['run', job, '--checkpoint', join(dir, 'ck'), '--trigger', 'available-now', '--max-records-per-partition', '64']);
    expect(run.status, run.stderr).toBe(0);

    const letters = readdirSync(join(dir, 'dead'))
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) =>
        readFileSync(join(dir, 'dead', f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { topic: string; partition: number; offset: string; reason: string; value: string | null; value_base64: string | null }),
      );
    const expected = values.flatMap((v, offset) => (v.bad ? [{ offset: String(offset), name: v.bad }] : []));
    expect(letters.map((l) => l.offset).sort(), 'one dead letter per bad record, at its offset').toEqual(expected.map((e) => e.offset).sort());
    const reasons: Record<string, string> = {};
    for (const l of letters) {
      const cls = expected.find((e) => e.offset === l.offset)!.name;
      reasons[cls] = l.reason;
      // A log's topic is its directory's name.
      expect(l.topic, cls).toBe('log');
      expect(l.partition, cls).toBe(0);
      expect(l.reason.length, `${cls}: a reason`).toBeGreaterThan(5);
      // The record is kept whole: as text, or as base64 when it is not valid UTF-8.
      const kept = l.value !== null ? Buffer.from(l.value, 'utf8') : Buffer.from(l.value_base64 ?? '', 'base64');
      expect(Buffer.compare(kept, Buffer.from(values[Number(l.offset)]!.value)), `${cls}: kept byte for byte`).toBe(0);
    }
    const engine = await Engine.open();
    let rows: number;
    try {
      await engine.run(`SET TimeZone = 'UTC'`);
      const out = await engine.allJson(
        `SELECT id, n, strftime(ts, '%Y-%m-%dT%H:%M:%S.000Z') AS ts, s FROM read_parquet(${literal(join(dir, 'out/rows/*.parquet'))})`,
      );
      expect(canonical(out)).toEqual(canonical(good));
      rows = out.length;
    } finally {
      engine.close();
    }
    expect(rows + letters.length, 'rows out + dead letters = records in').toBe(values.length);
    const figures = { classes: bad.length, records: values.length, rows, deadLetters: letters.length };
    report('bad-input', figures);
    return { ...figures, reasons };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
