import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { ConsoleSink } from '../../src/connectors/console/console-sink.js';
import { makeBatch, withEngine } from './helpers.js';

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('ConsoleSink', () => {
  it("prints Spark's header and an aligned table", () =>
    withEngine(async (engine) => {
      const { out, text } = capture();
      const sink = new ConsoleSink('c', { out });
      await sink.open(engine);
      await sink.addBatch(
        await makeBatch(
          engine,
          3,
          `SELECT * FROM (VALUES ('cat', 12, NULL), ('a much longer value than twenty', 3, [1, 2]), ('x\ny', NULL, [])) t(word, n, list)`,
        ),
      );
      expect(text()).toBe(
        [
          '-------------------------------------------',
          'Batch: 3',
          '-------------------------------------------',
          '+--------------------+----+-----+',
          '|                word|   n| list|',
          '+--------------------+----+-----+',
          '|                 cat|  12| NULL|',
          '|a much longer val...|   3|[1,2]|',
          '|                x\\ny|NULL|   []|',
          '+--------------------+----+-----+',
          '',
          '',
        ].join('\n'),
      );
    }));

  it('shows at most max_rows rows and says so', () =>
    withEngine(async (engine) => {
      const { out, text } = capture();
      const sink = new ConsoleSink('c', { out, maxRows: 2 });
      await sink.addBatch(await makeBatch(engine, 0, 'SELECT range AS i FROM range(5) ORDER BY i'));
      await sink.addBatch(await makeBatch(engine, 1, 'SELECT range AS i FROM range(2) ORDER BY i'));
      await sink.addBatch(await makeBatch(engine, 2, 'SELECT 1 AS i WHERE false'));
      const rule = '-------------------------------------------';
      expect(text()).toBe(
        `${rule}\nBatch: 0\n${rule}\n+---+\n|  i|\n+---+\n|  0|\n|  1|\n+---+\nonly showing top 2 rows\n\n` +
          `${rule}\nBatch: 1\n${rule}\n+---+\n|  i|\n+---+\n|  0|\n|  1|\n+---+\n\n` +
          `${rule}\nBatch: 2\n${rule}\n+---+\n|  i|\n+---+\n+---+\n\n`,
      );
    }));
});
