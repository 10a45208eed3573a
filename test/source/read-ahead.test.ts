import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLog } from '../../src/log/index.js';
import type { DecodeTask } from '../../src/source/decode-task.js';
import { ReadAhead } from '../../src/source/read-ahead.js';
import { parseSchemaText } from '../../src/source/schema.js';

/* The read-ahead slot on its own: one batch at a time, taken only by its own key, and backing off after waste. */

let dir: string;
const options = { format: 'json' as const, schema: parseSchemaText('i INTEGER'), maxValueBytes: undefined };
const task = (from: number, until: number): DecodeTask => ({ dir, partition: 0, from: BigInt(from), until: BigInt(until), options });

beforeAll(async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'ds-read-ahead-')), 'log');
  const log = await createLog(dir, { partitions: 1 });
  await log.append(0, Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify({ i }) })));
  await log.close();
});

afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

describe('ReadAhead', () => {
  it('gives a batch only to a read with its key; after one for nothing it lets the next chance go, then tries again', async () => {
    const ahead = new ReadAhead(1);
    try {
      expect(await ahead.take('a')).toBeUndefined();
      ahead.start('a', [task(0, 10)]);
      const got = await ahead.take('a');
      expect(got !== undefined && got !== 'discarded' && got.outcomes.map((o) => (o.ok ? o.part.rows : -1))).toEqual([10]);
      expect(await ahead.take('a'), 'taken once').toBeUndefined();

      ahead.start('b', [task(10, 20)]);
      expect(await ahead.take('c')).toBe('discarded');
      ahead.start('d', [task(20, 30)]); // let go: the last one was for nothing
      expect(await ahead.take('d')).toBeUndefined();
      ahead.start('e', [task(30, 40)]);
      expect(typeof (await ahead.take('e'))).toBe('object');
      expect(ahead.counts).toEqual({ started: 3, used: 2, discarded: 1 });

      // a failed batch (past the end of the partition) is not handed out: the read does the work and reports it
      ahead.start('f', [task(90, 120)]);
      expect(await ahead.take('f')).toBe('discarded');
    } finally {
      await ahead.close();
    }
    ahead.start('g', [task(0, 10)]);
    expect(await ahead.take('g'), 'closed').toBeUndefined();
  });
});
