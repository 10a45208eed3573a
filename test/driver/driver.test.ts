import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLog } from '../../src/log/index.js';
import {
  AddData,
  Assert,
  CheckAnswer,
  CheckBatches,
  CrashAt,
  ExpectFailure,
  ProcessAllAvailable,
  RunBatch,
  StartStream,
  StopStream,
  testStream,
} from '../support/stream-test.js';
import type { ProtocolStep } from '../../src/driver/driver.js';

const job = (extra = '') => ({
  logs: { views: 2 },
  sql: `
    CREATE SOURCE views WITH (connector = 'log', path = '\${dir}/logs/views', format = 'json', schema = 'id BIGINT NOT NULL, url VARCHAR, status INTEGER');
    CREATE SINK errors WITH (connector = 'parquet', path = '\${dir}/out/errors') AS
      SELECT id, url, status FROM views WHERE status >= 500;
    CREATE SINK all_ids WITH (connector = 'jsonl', path = '\${dir}/out/all_ids') AS
      SELECT id, _partition AS p, _offset AS o FROM views;
    ${extra}`,
});

const v = (id: number, status = 200, url = `/p/${id}`) => ({ id, url, status });

describe('Driver', () => {
  it('runs a filter/projection job batch by batch and continues after a restart', async () => {
    await testStream(
      job(),
      AddData('views', 0, v(1), v(2, 500), v(3, 503)),
      AddData('views', 1, v(4, 502)),
      StartStream(),
      RunBatch(4),
      CheckAnswer('errors', [
        { id: '2', url: '/p/2', status: 500 },
        { id: '3', url: '/p/3', status: 503 },
        { id: '4', url: '/p/4', status: 502 },
      ]),
      StopStream,
      AddData('views', 1, v(5, 500)),
      StartStream(),
      ProcessAllAvailable,
      CheckAnswer('errors', [
        { id: '2', url: '/p/2', status: 500 },
        { id: '3', url: '/p/3', status: 503 },
        { id: '4', url: '/p/4', status: 502 },
        { id: '5', url: '/p/5', status: 500 },
      ]),
      CheckAnswer('all_ids', [
        { id: 1, p: 0, o: 0 },
        { id: 2, p: 0, o: 1 },
        { id: 3, p: 0, o: 2 },
        { id: 4, p: 1, o: 0 },
        { id: 5, p: 1, o: 1 },
      ]),
      CheckBatches(0, 1),
    );
  });

  it('skips empty batches: no data, no batch, nothing logged', async () => {
    await testStream(
      job(),
      StartStream(),
      RunBatch(),
      ProcessAllAvailable,
      CheckBatches(),
      AddData('views', 0, v(1)),
      RunBatch(1),
      RunBatch(),
      CheckBatches(0),
      Assert('one offset-log entry', (ctx) => expect(readdirSync(join(ctx.dir, 'checkpoint', 'offsets'))).toEqual(['0'])),
    );
  });

  it('caps records per partition per batch', async () => {
    await testStream(
      job(),
      AddData('views', 0, v(1), v(2), v(3), v(4), v(5)),
      AddData('views', 1, v(6)),
      StartStream({ maxRecordsPerPartition: 2 }),
      RunBatch(3),
      RunBatch(2),
      RunBatch(1),
      RunBatch(),
      CheckBatches(0, 1, 2),
      Assert('offsets of each batch', (ctx) =>
        expect(ctx.progress.map((p) => [p.sources[0]!.startOffset, p.sources[0]!.endOffset])).toEqual([
          [
            { 0: '0', 1: '0' },
            { 0: '2', 1: '1' },
          ],
          [
            { 0: '2', 1: '1' },
            { 0: '4', 1: '1' },
          ],
          [
            { 0: '4', 1: '1' },
            { 0: '5', 1: '1' },
          ],
        ]),
      ),
    );
  });

  it('picks up partitions added while running', async () => {
    await testStream(
      job(),
      AddData('views', 0, v(1)),
      StartStream(),
      RunBatch(1),
      Assert('grow the log to 3 partitions', async (ctx) => {
        const log = await openLog(join(ctx.dir, 'logs', 'views'));
        await log.addPartitions(3);
        await log.close();
      }),
      AddData('views', 2, v(7, 500)),
      RunBatch(1),
      CheckAnswer('all_ids', [
        { id: 1, p: 0, o: 0 },
        { id: 7, p: 2, o: 0 },
      ]),
    );
  });

  it('dead-letters bad records without stopping, counts them, keeps their bytes and position', async () => {
    const ctx = await testStream(
      job(),
      AddData('views', 0, v(1, 500), '{"id": 2, "url": "/x", "status": "oops"}', 'not json', '{"url": "/no-id", "status": 500}', v(3, 501)),
      StartStream(),
      RunBatch(5),
      CheckAnswer('errors', [
        { id: '1', url: '/p/1', status: 500 },
        { id: '3', url: '/p/3', status: 501 },
      ]),
      Assert('progress counts 3 dead letters', (c) => expect(c.progress[0]!.numDeadLetterRows).toBe(3)),
      Assert('dead letters next to the sinks', (c) => {
        const file = join(c.dir, 'out', 'views.dead_letter', 'batch-0000000000.jsonl');
        const letters = readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(letters.map((l) => [l['offset'], l['value']])).toEqual([
          ['1', '{"id": 2, "url": "/x", "status": "oops"}'],
          ['2', 'not json'],
          ['3', '{"url": "/no-id", "status": 500}'],
        ]);
        expect(String(letters[0]!['reason'])).toMatch(/status/);
        expect(String(letters[2]!['reason'])).toMatch(/missing required field 'id'/);
      }),
    );
    expect(ctx.progress).toHaveLength(1);
  });

  it('refuses, at start, a running aggregate in append mode, with the reason and the fix', async () => {
    await testStream(
      job(`CREATE SINK counts WITH (connector = 'console') AS SELECT url, count(*) FROM views GROUP BY url;`),
      ExpectFailure(
        /sink 'counts': GROUP BY, aggregate count_star\(\) over the whole stream: its result rows keep changing[\s\S]*fix: add output_mode = 'update'/,
        StartStream(),
      ),
    );
  });

  it('refuses a query that does not bind, naming the sink and the columns', async () => {
    await testStream(
      job(`CREATE SINK typo WITH (connector = 'console') AS SELECT stauts FROM views;`),
      ExpectFailure(/sink 'typo': .*stauts[\s\S]*_topic, _partition, _offset, _timestamp, _key, id, url, status/, StartStream()),
    );
  });

  it("reads format = 'raw' values as a BLOB column, whatever the bytes", async () => {
    await testStream(
      {
        logs: { bin: 1 },
        sql: `CREATE SOURCE bin WITH (connector = 'log', path = '\${dir}/logs/bin', format = 'raw');
              CREATE SINK sizes WITH (connector = 'jsonl', path = '\${dir}/out/sizes') AS
              SELECT _offset AS o, octet_length(value) AS n, hex(value) AS h FROM bin;`,
      },
      AddData('bin', 0, 'not json', '{"a":1}', 'caf\u00e9'),
      StartStream(),
      RunBatch(3),
      CheckAnswer('sizes', [
        { o: 0, n: 8, h: '6E6F74206A736F6E' },
        { o: 1, n: 7, h: '7B2261223A317D' },
        { o: 2, n: 5, h: '636166C3A9' },
      ]),
    );
  });

  it('refuses a second driver on the same checkpoint', async () => {
    await testStream(
      job(),
      StartStream(),
      Assert('second start', async (ctx) => {
        const { runJob } = await import('../../src/driver/run-job.js');
        const { writeFileSync } = await import('node:fs');
        const file = join(ctx.dir, 'job.sql');
        writeFileSync(file, job().sql.replaceAll('${dir}', ctx.dir));
        await expect(runJob({ jobFile: file, checkpoint: join(ctx.dir, 'checkpoint'), trigger: { kind: 'once' } })).rejects.toThrow(/checkpoint is in use/);
      }),
    );
  });
});

describe('Driver recovery: a crash between any two protocol steps', () => {
  const steps: [ProtocolStep, string | undefined][] = [
    ['offsetLogWritten', undefined],
    ['read', undefined],
    ['sinkWritten', 'errors'], // mid-sink: the first sink has the batch, the second does not
    ['sinksWritten', undefined],
    ['commitLogWritten', undefined],
  ];
  for (const [step, sink] of steps) {
    it(`after ${step}${sink ? ` (${sink})` : ''}: the restarted job's output equals a run that never crashed`, async () => {
      const expectedErrors = [
        { id: '2', url: '/p/2', status: 500 },
        { id: '5', url: '/p/5', status: 504 },
        { id: '6', url: '/p/6', status: 500 },
      ];
      const expectedIds = [1, 2, 3, 4, 5, 6].map((id) => ({ id, p: id <= 3 ? 0 : 1, o: id <= 3 ? id - 1 : id - 4 }));
      const ctx = await testStream(
        job(),
        AddData('views', 0, v(1), v(2, 500), v(3)),
        StartStream(),
        RunBatch(3),
        AddData('views', 1, v(4), v(5, 504), v(6, 500)),
        CrashAt(step, sink),
        RunBatch(), // dies after `step`
        Assert('the crash left batch 1 pending unless the commit was written', (c) => {
          const committed = existsSync(join(c.dir, 'checkpoint', 'commits', '1'));
          expect(committed).toBe(step === 'commitLogWritten');
        }),
        StartStream(),
        ProcessAllAvailable,
        CheckAnswer('errors', expectedErrors),
        CheckAnswer('all_ids', expectedIds),
      );
      const recovered = ctx.progress.filter((p) => p.recovered).map((p) => p.batchId);
      expect(recovered).toEqual(step === 'commitLogWritten' ? [] : [1]);
      expect(ctx.progress.map((p) => p.batchId)).toEqual(step === 'commitLogWritten' ? [0] : [0, 1]);
    });
  }

  it('replays the pending batch with exactly the logged ranges, even when more data arrived meanwhile', async () => {
    const ctx = await testStream(
      job(),
      AddData('views', 0, v(1), v(2)),
      StartStream(),
      CrashAt('sinksWritten'),
      RunBatch(),
      AddData('views', 0, v(3, 500)),
      StartStream(),
      RunBatch(2), // the recovered batch 0: offsets 0-2 only
      RunBatch(1),
      CheckAnswer('all_ids', [
        { id: 1, p: 0, o: 0 },
        { id: 2, p: 0, o: 1 },
        { id: 3, p: 0, o: 2 },
      ]),
    );
    expect(ctx.progress.map((p) => [p.batchId, p.recovered, p.sources[0]!.endOffset['0']])).toEqual([
      [0, true, '2'],
      [1, false, '3'],
    ]);
  });
});
