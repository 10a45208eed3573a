import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVersioned } from '../../src/checkpoint/versioned-file.js';
import { runJob } from '../../src/driver/run-job.js';
import { createLog, openLog } from '../../src/log/index.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { AddData, Assert, CheckAnswer, Drain, RunBatch, StartStream, StopStream, testStream } from '../support/stream-test.js';

/*
 * Jobs whose sources decode only the columns the queries read: outputs are the golden ones, dead letters do not
 * depend on what is read, and what users and the checkpoint see of a source stays its whole schema.
 */

const SCHEMA = 'id BIGINT NOT NULL, url VARCHAR, status INTEGER, agent VARCHAR, ts TIMESTAMP';

describe('a job reading some of its source columns', () => {
  it('columns read only in WHERE, through aliases or by the event time are kept; a defect in a pruned column still dead-letters', async () => {
    const ctx = await testStream(
      {
        logs: { views: 2 },
        sql: `
          CREATE SOURCE views WITH (connector = 'log', path = '\${dir}/logs/views', format = 'json', schema = '${SCHEMA}', event_time = 'ts', watermark = '1 second');
          CREATE SINK errors WITH (connector = 'parquet', path = '\${dir}/out/errors') AS
            SELECT v.id AS ident, length(v.url) AS n FROM views AS v WHERE status >= 500;`,
      },
      AddData(
        'views',
        0,
        { id: 1, url: '/a', status: 200, agent: 'x', ts: '2026-01-01T00:00:00Z' },
        { id: 2, url: '/bb', status: 500, agent: 'y', ts: '2026-01-01T00:00:01Z' },
        { id: 3, url: '/ccc', status: 503, agent: 42, ts: '2026-01-01T00:00:02Z' }, // agent is not read, still not a VARCHAR
      ),
      AddData(
        'views',
        1,
        { id: 4, url: '/dddd', status: 502, ts: '2026-01-01T00:00:03Z' },
        { id: 5, url: null, status: 599, agent: 'z', ts: 'soon' },
        'not json',
      ),
      StartStream(),
      Assert('the source decodes id, url, status and ts only, and shows its whole schema', (c) => {
        const source = c.driver!.job.sources[0]!;
        expect(source.readSchema!.map((s) => s.name)).toEqual(['id', 'url', 'status', 'ts']);
        expect(source.schema!.map((s) => s.name)).toEqual(['id', 'url', 'status', 'agent', 'ts']);
      }),
      RunBatch(6),
      CheckAnswer('errors', [
        { ident: 2, n: 3 },
        { ident: 4, n: 5 },
      ]),
      Assert('dead letters with the reasons of a full decode', (c) => {
        const dir = join(c.dir, 'out', 'views.dead_letter');
        const letters = readdirSync(dir)
          .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
          .map((l) => JSON.parse(l) as { offset: string; partition: number; reason: string; value: string });
        expect(letters.map((l) => [l.partition, String(l.offset), l.reason])).toEqual([
          [0, '2', "field 'agent': expected VARCHAR, got number 42"],
          [1, '1', `field 'ts': expected TIMESTAMP, got string "soon" (write ISO-8601 like 2024-05-01T12:00:00.000Z, or epoch milliseconds)`],
          [1, '2', 'invalid JSON: ' + letters[2]!.reason.slice('invalid JSON: '.length)],
        ]);
        expect(letters[0]!.value).toContain('"agent":42');
      }),
    );
    expect(ctx.progress[0]!.numInputRows).toBe(6);
  });

  it('a windowed query and a stateless one on the same source: the union of their columns', async () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    await testStream(
      {
        logs: { views: 1 },
        sql: `
          CREATE SOURCE views WITH (connector = 'log', path = '\${dir}/logs/views', format = 'json', schema = '${SCHEMA}', event_time = 'ts', watermark = '1 second');
          CREATE SINK per_window WITH (connector = 'parquet', path = '\${dir}/out/w') AS
            SELECT window_start, count(*) AS n, max(status) AS worst FROM TUMBLE(views, ts, INTERVAL '10 seconds') WHERE agent <> 'bot' GROUP BY window_start, window_end;
          CREATE SINK ids WITH (connector = 'parquet', path = '\${dir}/out/ids') AS SELECT id FROM views;`,
      },
      AddData('views', 0, ...[1, 4, 9, 12, 15, 25].map((s, i) => ({ id: i, url: '/u', status: 200 + s, agent: s === 4 ? 'bot' : 'h', ts: at(s) }))),
      StartStream(),
      Assert('read columns', (c) => expect(c.driver!.job.sources[0]!.readSchema!.map((s) => s.name)).toEqual(['id', 'status', 'agent', 'ts'])),
      RunBatch(6),
      Drain,
      CheckAnswer(
        'per_window',
        [
          { window_start: at(0), n: 2, worst: 209 },
          { window_start: at(10), n: 2, worst: 215 },
          { window_start: at(20), n: 1, worst: 225 },
        ].map((r) => ({ ...r, window_start: r.window_start.replace('T', ' ').replace('.000Z', '') })),
      ),
      CheckAnswer(
        'ids',
        [0, 1, 2, 3, 4, 5].map((id) => ({ id })),
      ),
      StopStream,
    );
  });
});

describe('the checkpoint keeps the whole schema', () => {
  it('an inferred schema is stored whole; the job edited to read more columns resumes and decodes them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-pruned-'));
    try {
      const log = await createLog(join(dir, 'logs/views'), { partitions: 1 });
      await log.append(
        0,
        [1, 2].map((id) => ({ value: JSON.stringify({ id, url: `/p${id}`, agent: `a${id}` }), timestamp: 1_767_225_600_000 })),
      );
      await log.close();
      const source = `CREATE SOURCE views WITH (connector = 'log', path = '${join(dir, 'logs/views')}', format = 'json');`;
      const job = (select: string) => {
        writeFileSync(join(dir, 'job.sql'), `${source}\nCREATE SINK out WITH (connector = 'jsonl', path = '${join(dir, 'out')}') AS ${select};`);
        return runJob({ jobFile: join(dir, 'job.sql'), checkpoint: join(dir, 'ck'), trigger: { kind: 'available-now' } });
      };
      await job('SELECT id FROM views');
      const metadata = () => readVersioned<{ schemas: Record<string, string> }>(join(dir, 'ck', 'metadata.json'));
      const stored = metadata().schemas['views'];
      expect(stored).toMatch(/^(?=.*\bid BIGINT)(?=.*\burl VARCHAR)(?=.*\bagent VARCHAR)/);

      const more = await openLog(join(dir, 'logs/views'));
      await more.append(
        0,
        [3].map((id) => ({ value: JSON.stringify({ id, url: `/p${id}`, agent: `a${id}` }), timestamp: 1_767_225_600_000 })),
      );
      await more.close();
      await job('SELECT id, agent FROM views');
      expect(metadata().schemas['views']).toBe(stored);

      const engine = await Engine.open();
      const rows = await engine.all(`SELECT * FROM read_json_auto(${literal(join(dir, 'out') + '/**/*.jsonl')}) ORDER BY id`);
      engine.close();
      expect(rows.map((r) => [Number(r['id']), r['agent'] ?? null])).toEqual([
        [1, null],
        [2, null],
        [3, 'a3'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
