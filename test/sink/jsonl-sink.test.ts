import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonlSink } from '../../src/connectors/jsonl/jsonl-sink.js';
import { makeBatch, rowsOf, withEngine, withTempDir } from './helpers.js';

describe('JsonlSink', () => {
  it('round-trips through read_json_auto; a replay leaves the output as if written once', () =>
    withEngine((engine) =>
      withTempDir(async (dir) => {
        const sink = new JsonlSink('errors', join(dir, 'errors'));
        await sink.open(engine);
        const typed = (id: number) => `SELECT id, name, TIMESTAMP '2025-01-02 03:04:05' + INTERVAL (id) SECOND AS ts, [id, id] AS pair FROM (${rowsOf(id)})`;
        await sink.addBatch(await makeBatch(engine, 1, typed(1)));
        await sink.addBatch(await makeBatch(engine, 2, typed(2)));
        await sink.addBatch(await makeBatch(engine, 2, typed(2)));

        expect(readdirSync(sink.path).sort()).toEqual(['_manifest', 'part-0000000001.jsonl', 'part-0000000002.jsonl']);
        expect(readFileSync(join(sink.path, 'part-0000000001.jsonl'), 'utf8')).toBe(
          '{"id":1,"name":"row-1","ts":"2025-01-02 03:04:06","pair":[1,1]}\n' + '{"id":2,"name":"row-2","ts":"2025-01-02 03:04:07","pair":[2,2]}\n',
        );
        const rows = await engine.allJson(`SELECT id, name, ts, pair FROM read_json_auto('${sink.glob}') ORDER BY id`);
        expect(rows).toEqual(
          // read_json_auto infers BIGINT for the numbers; allJson renders BIGINT as strings.
          ['1', '2', '3', '4'].map((id) => ({ id, name: `row-${id}`, ts: `2025-01-02 03:04:0${5 + Number(id)}`, pair: [id, id] })),
        );
        const [types] = await engine.all(`SELECT typeof(ts) AS t FROM read_json_auto('${sink.glob}') LIMIT 1`);
        expect(types?.['t']).toBe('TIMESTAMP');
      }),
    ));
});
