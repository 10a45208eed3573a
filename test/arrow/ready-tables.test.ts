import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestSourceBatch } from '../../src/arrow/ingest-source-batch.js';
import { ReadyTables } from '../../src/arrow/ready-tables.js';
import type { SourceBatch } from '../../src/source/source.js';
import { Engine } from '../../src/sql/engine.js';
import { fixed, table, varwidth } from './helpers.js';

const batchOf = (t: arrow.Table): SourceBatch => ({ table: t, deadLetters: [], numRecords: t.numRows });
const ints = (name: string, values: number[]) => table([new arrow.Field(name, new arrow.Int32(), true)], [[fixed(new arrow.Int32(), values)]]);

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.open();
});
afterAll(() => engine.close());

async function contents(name: string): Promise<unknown[]> {
  return (await engine.allJson(`SELECT * FROM ${name}`)).map((r) => Object.values(r));
}
async function columns(name: string): Promise<string[]> {
  return (await engine.all(`SELECT column_name || ' ' || data_type AS c FROM duckdb_columns() WHERE table_name = '${name}' ORDER BY column_index`)).map((r) =>
    String(r['c']),
  );
}

describe('ReadyTables with ingestSourceBatch', () => {
  it('a table prepared for the same columns receives exactly the new batch, once', async () => {
    const ready = new ReadyTables();
    await engine.exclusive((c) => ingestSourceBatch(c, 's', batchOf(ints('x', [1, 2, 3])), ready));
    expect(await contents('s')).toEqual([[1], [2], [3]]);
    ready.prepare(engine, '"s"', ints('x', []).schema);
    await ready.settled();
    expect(await contents('s')).toEqual([]);
    await engine.exclusive((c) => ingestSourceBatch(c, 's', batchOf(ints('x', [4, 5])), ready));
    expect(await contents('s')).toEqual([[4], [5]]);
    // not prepared again: the next ingest replaces the table instead of appending to the last batch's rows
    await engine.exclusive((c) => ingestSourceBatch(c, 's', batchOf(ints('x', [6])), ready));
    expect(await contents('s')).toEqual([[6]]);
  });

  it('a table prepared for other columns is created again with the batch columns', async () => {
    const ready = new ReadyTables();
    ready.prepare(engine, '"t"', ints('x', []).schema);
    const other = table(
      [new arrow.Field('y', new arrow.Utf8(), true), new arrow.Field('x', new arrow.Int32(), true)],
      [[varwidth(new arrow.Utf8(), ['a', null]), fixed(new arrow.Int32(), [7, 8])]],
    );
    await engine.exclusive((c) => ingestSourceBatch(c, 't', batchOf(other), ready));
    expect(await columns('t')).toEqual(['y VARCHAR', 'x INTEGER']);
    expect(await contents('t')).toEqual([
      ['a', 7],
      [null, 8],
    ]);
  });

  it('prepare is queued behind statements already waiting for the connection, and settled() waits for it', async () => {
    const ready = new ReadyTables();
    await engine.exclusive((c) => ingestSourceBatch(c, 'u', batchOf(ints('x', [1])), ready));
    const reading = engine.allJson('SELECT count(*)::INTEGER AS n FROM u');
    ready.prepare(engine, '"u"', ints('x', []).schema);
    expect(await reading).toEqual([{ n: 1 }]);
    await ready.settled();
    expect(await contents('u')).toEqual([]);
  });
});
