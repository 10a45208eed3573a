import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckstreamError } from '../../src/errors.js';
import { runJob } from '../../src/driver/run-job.js';
import { createLog, openLog } from '../../src/log/index.js';
import { Engine, literal, type Row } from '../../src/sql/engine.js';
import { duckstream } from '../support/cli.js';

/*
 * Sources without a declared schema (inferred from their first records): a misspelt column in any sink query is
 * refused before the first offset entry is written, naming the query and the columns there are, and a rerun with
 * the query fixed runs from the start.
 */

const T0 = Date.UTC(2026, 0, 1);
const CLICKS = [
  { user: 'ann', n: 1, ts: '2026-01-01T00:00:01Z' },
  { user: 'bob', n: 2, ts: '2026-01-01T00:00:04Z' },
  { user: 'ann', n: 3, ts: '2026-01-01T00:00:12Z' },
  { user: 'cid', n: 4, ts: '2026-01-01T00:00:15Z' },
  { user: 'ann', n: 5, ts: '2026-01-01T00:00:31Z' },
];

async function appendClicks(dir: string, clicks: readonly object[], first: number): Promise<void> {
  const log = await openLog(join(dir, 'clicks'));
  await log.append(
    0,
    clicks.map((c, i) => ({ value: JSON.stringify(c), timestamp: T0 + first + i })),
  );
  await log.close();
}

/** A log `clicks` holding the first `count` clicks, and a job file writer. */
async function setup(count = CLICKS.length): Promise<{ dir: string; job: (sinkSql: string, source?: string) => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-bind-'));
  await (await createLog(join(dir, 'clicks'), { partitions: 1 })).close();
  await appendClicks(dir, CLICKS.slice(0, count), 0);
  const job = (sinkSql: string, source = `CREATE SOURCE clicks WITH (connector = 'log', path = '${dir}/clicks', format = 'json', event_time = 'ts');`) => {
    const file = join(dir, 'job.sql');
    writeFileSync(file, `${source}\n${sinkSql}\n`);
    return file;
  };
  return { dir, job };
}

async function refusal(jobFile: string, checkpoint: string): Promise<DuckstreamError> {
  const err = await runJob({ jobFile, checkpoint, trigger: { kind: 'available-now' }, drain: true }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DuckstreamError);
  expect((err as DuckstreamError).domain).toBe('user');
  return err as DuckstreamError;
}

const offsetEntries = (checkpoint: string) => (existsSync(join(checkpoint, 'offsets')) ? readdirSync(join(checkpoint, 'offsets')) : []);

async function parquetRows(glob: string, order: string): Promise<Row[]> {
  const engine = await Engine.open();
  try {
    return await engine.allJson(`SELECT * FROM read_parquet(${literal(glob)}) ORDER BY ${order}`);
  } finally {
    engine.close();
  }
}

const COLUMNS = "source 'clicks' has columns _topic, _partition, _offset, _timestamp, _key, user, n, ts";

describe('queries over inferred schemas are bound before the first batch is logged', () => {
  it('a stateless Parquet sink: refused with the line, the sink, the column and a did-you-mean; the fixed job then runs', async () => {
    const { dir, job } = await setup();
    const ck = join(dir, 'ck');
    const bad = job(`CREATE SINK big WITH (connector = 'parquet', path = '${dir}/big') AS\n  SELECT usr, n FROM clicks WHERE n > 1;`);
    const err = await refusal(bad, ck);
    expect(err.message).toMatch(/^.*job\.sql:2: sink 'big': Binder Error: Referenced column "usr" not found/);
    expect(err.fix).toBe(`did you mean "user"? fix the query; ${COLUMNS}`);
    expect(offsetEntries(ck)).toEqual([]);
    const good = job(`CREATE SINK big WITH (connector = 'parquet', path = '${dir}/big') AS\n  SELECT user, n FROM clicks WHERE n > 1;`);
    await runJob({ jobFile: good, checkpoint: ck, trigger: { kind: 'available-now' } });
    expect((await parquetRows(`${dir}/big/*.parquet`, 'n')).map((r) => ({ user: r['user'], n: Number(r['n']) }))).toEqual(
      CLICKS.filter((c) => c.n > 1).map((c) => ({ user: c.user, n: c.n })),
    );
    expect(offsetEntries(ck)).toEqual(['0']);
  });

  it('a TUMBLE window sink: refused before batch 0; the fixed job emits every window', async () => {
    const { dir, job } = await setup();
    const ck = join(dir, 'ck');
    const sink = (col: string) =>
      `CREATE SINK per_user WITH (connector = 'parquet', path = '${dir}/windows') AS\n  SELECT window_start, user, sum(n) AS total FROM TUMBLE(clicks, ts, INTERVAL '10 seconds') GROUP BY window_start, ${col};`;
    const err = await refusal(job(sink('usr')), ck);
    expect(err.message).toMatch(/job\.sql:2: sink 'per_user': .*"usr"/);
    expect(err.fix).toBe(`did you mean "user"? fix the query; ${COLUMNS}`);
    expect(offsetEntries(ck)).toEqual([]);
    await runJob({ jobFile: job(sink('user')), checkpoint: ck, trigger: { kind: 'available-now' }, drain: true });
    // Windows of 10 s: [0,10) ann 1, bob 2; [10,20) ann 3, cid 4; [30,40) ann 5.
    const rows = await parquetRows(`${dir}/windows/*.parquet`, 'window_start, user');
    expect(rows.map((r) => [String(r['window_start']).slice(11, 19), r['user'], Number(r['total'])])).toEqual([
      ['00:00:00', 'ann', 1],
      ['00:00:00', 'bob', 2],
      ['00:00:10', 'ann', 3],
      ['00:00:10', 'cid', 4],
      ['00:00:30', 'ann', 5],
    ]);
  });

  it('a running GROUP BY aggregate (complete mode): refused before batch 0; the fixed job has the totals', async () => {
    const { dir, job } = await setup();
    const ck = join(dir, 'ck');
    const source = `CREATE SOURCE clicks WITH (connector = 'log', path = '${dir}/clicks', format = 'json');`;
    const sink = (col: string) =>
      `CREATE SINK totals WITH (connector = 'parquet', path = '${dir}/totals', output_mode = 'complete') AS\n  SELECT user, sum(${col}) AS total FROM clicks GROUP BY user;`;
    const err = await refusal(job(sink('nn'), source), ck);
    expect(err.message).toMatch(/job\.sql:2: sink 'totals': .*"nn"/);
    expect(err.fix).toBe(`did you mean "n"? fix the query; ${COLUMNS}`);
    expect(offsetEntries(ck)).toEqual([]);
    await runJob({ jobFile: job(sink('n'), source), checkpoint: ck, trigger: { kind: 'available-now' } });
    const totals = new Map<string, number>();
    for (const c of CLICKS) totals.set(c.user, (totals.get(c.user) ?? 0) + c.n);
    const rows = await parquetRows(`${dir}/totals/*.parquet`, 'user');
    expect(rows.map((r) => [r['user'], Number(r['total'])])).toEqual([...totals].sort());
  });

  it('a restart binds against the schema the checkpoint stored, before any new batch', async () => {
    const { dir, job } = await setup();
    const ck = join(dir, 'ck');
    const sink = (col: string) => `CREATE SINK big WITH (connector = 'parquet', path = '${dir}/big') AS\n  SELECT ${col}, n FROM clicks;`;
    await runJob({ jobFile: job(sink('user')), checkpoint: ck, trigger: { kind: 'available-now' } });
    expect(offsetEntries(ck)).toEqual(['0']);
    // No new data: nothing would be planned or inferred, and still the query is refused at start.
    const err = await refusal(job(sink('usr')), ck);
    expect(err.message).toMatch(/job\.sql:2: sink 'big': .*"usr"/);
    expect(err.fix).toBe(`did you mean "user"? fix the query; ${COLUMNS}`);
    expect(offsetEntries(ck)).toEqual(['0']);
  });

  it('a restart of a windowed sink binds its operator against the stored schema and leaves its state as it was', async () => {
    const { dir, job } = await setup(3);
    const ck = join(dir, 'ck');
    const sink = (col: string) =>
      `CREATE SINK per_user WITH (connector = 'parquet', path = '${dir}/windows') AS\n  SELECT window_start, user, sum(n) AS total FROM TUMBLE(clicks, ts, INTERVAL '10 seconds') GROUP BY window_start, ${col};`;
    await runJob({ jobFile: job(sink('user')), checkpoint: ck, trigger: { kind: 'available-now' } });
    expect(offsetEntries(ck)).toEqual(['0']);
    const err = await refusal(job(sink('usr')), ck);
    expect(err.message).toMatch(/job\.sql:2: sink 'per_user': .*"usr"/);
    expect(err.fix).toBe(`did you mean "user"? fix the query; ${COLUMNS}`);
    expect(offsetEntries(ck)).toEqual(['0']);
    await appendClicks(dir, CLICKS.slice(3), 3);
    await runJob({ jobFile: job(sink('user')), checkpoint: ck, trigger: { kind: 'available-now' }, drain: true });
    const rows = await parquetRows(`${dir}/windows/*.parquet`, 'window_start, user');
    expect(rows.map((r) => [String(r['window_start']).slice(11, 19), r['user'], Number(r['total'])])).toEqual([
      ['00:00:00', 'ann', 1],
      ['00:00:00', 'bob', 2],
      ['00:00:10', 'ann', 3],
      ['00:00:10', 'cid', 4],
      ['00:00:30', 'ann', 5],
    ]);
  });

  it('the CLI exits 2 with the refusal and leaves no offset entry', async () => {
    const { dir, job } = await setup();
    const file = job(`CREATE SINK big WITH (connector = 'parquet', path = '${dir}/big') AS\n  SELECT usr FROM clicks;`);
    const r = duckstream(['run', file, '--checkpoint', join(dir, 'ck'), '--trigger', 'available-now'], { cwd: dir });
    expect(r.stderr).toMatch(/job\.sql:2: sink 'big': .*"usr"/);
    expect(r.stderr).toContain('did you mean "user"?');
    expect(r.status).toBe(2);
    expect(offsetEntries(join(dir, 'ck'))).toEqual([]);
  });
});
