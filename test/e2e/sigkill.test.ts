import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLog } from '../../src/log/index.js';
import { prng } from '../../src/demo/pageviews.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { duckstream, killRepeatedly } from '../support/cli.js';
import { canonical } from '../support/stream-test.js';

/**
 * The exactly-once claim, tested the hard way: a real `duckstream run` is SIGKILLed at random moments during
 * a long run and restarted; in the end every sink holds exactly the rows of a run that never crashed.
 */
const RECORDS = 40_000;
let dir: string;
let lines: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ds-kill-'));
  const rand = prng(7);
  lines = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: i, status: rand() < 0.1 ? 500 : 200, url: `/u/${Math.floor(rand() * 100)}` }));
  writeFileSync(join(dir, 'input.ndjson'), lines.join('\n') + '\n');
  const log = await createLog(join(dir, 'log'), { partitions: 4 });
  for (let p = 0; p < 4; p++) {
    const mine = lines.filter((_, i) => i % 4 === p).map((value) => ({ value }));
    for (let i = 0; i < mine.length; i += 5000) await log.append(p, mine.slice(i, i + 5000));
  }
  await log.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One run's job file, writing under `<dir>/<name>/out`. */
function writeJob(name: string): string {
  const out = join(dir, name, 'out');
  const file = join(dir, `job-${name}.sql`);
  writeFileSync(
    file,
    `CREATE SOURCE ev WITH (connector = 'log', path = '${dir}/log', format = 'json', schema = 'id BIGINT, status INTEGER, url VARCHAR');
     CREATE SINK errors WITH (connector = 'parquet', path = '${out}/errors') AS SELECT id, url FROM ev WHERE status >= 500;
     CREATE SINK ids WITH (connector = 'jsonl', path = '${out}/ids') AS SELECT id, _partition AS p, _offset AS o FROM ev;
     CREATE SINK db WITH (connector = 'duckdb', path = '${out}/results.duckdb', table = 'errors') AS SELECT id FROM ev WHERE status >= 500;`,
  );
  return file;
}

describe('SIGKILL during a long run', () => {
  // --no-fsync gives up power-cut durability only: a killed process leaves its writes in the page cache, and
  // every checkpoint and sink file is still renamed into place whole, so exactly-once must hold the same.
  for (const [name, flags, seed] of [
    ['fsync', [], 11],
    ['no-fsync', ['--no-fsync'], 13],
  ] as const) {
    it(`ends with exactly-once output in parquet, jsonl and duckdb sinks (${name})`, async () => {
      const rand = prng(seed);
      const job = writeJob(name);
      const ck = join(dir, name, 'ck');
      const out = join(dir, name, 'out');
      const args = ['run', job, '--checkpoint', ck, '--trigger', '20ms', '--max-records-per-partition', '250', ...flags];
      const log = await killRepeatedly(args, ck, { rounds: 5, rand, maxDelayMs: 150 });
      const finish = duckstream(['run', job, '--checkpoint', ck, '--trigger', 'available-now', '--max-records-per-partition', '2500', ...flags]);
      expect(finish.status, `${log}\nfinish: ${finish.stderr}`).toBe(0);

      const engine = await Engine.open();
      try {
        const input = literal(join(dir, 'input.ndjson'));
        const expectedErrors = await engine.allJson(
          `SELECT id, url FROM read_ndjson(${input}, columns = {id: 'BIGINT', status: 'INTEGER', url: 'VARCHAR'}) WHERE status >= 500`,
        );
        const actualErrors = await engine.allJson(`SELECT id, url FROM read_parquet(${literal(join(out, 'errors/*.parquet'))})`);
        expect(actualErrors.length).toBe(expectedErrors.length);
        expect(canonical(actualErrors)).toEqual(canonical(expectedErrors));

        const ids = await engine.all(
          `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d, min(id)::INTEGER AS lo, max(id)::INTEGER AS hi FROM read_json_auto(${literal(join(out, 'ids/*.jsonl'))})`,
        );
        expect(ids[0]).toEqual({ n: RECORDS, d: RECORDS, lo: 0, hi: RECORDS - 1 });

        await engine.run(`ATTACH ${literal(join(out, 'results.duckdb'))} AS r (READ_ONLY)`);
        const db = await engine.all(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d FROM r.errors`);
        expect(db[0]).toEqual({ n: expectedErrors.length, d: expectedErrors.length });
      } finally {
        engine.close();
      }
      const progress = readFileSync(join(ck, 'progress.ndjson'), 'utf8');
      // At least one kill landed inside a batch (the usual case): that batch was re-run on restart.
      expect(progress).toMatch(/"recovered":true/);
    }, 180_000);
  }
});

describe('SIGKILL during a long run of a stateful job', () => {
  it('windowed counts (append) and running totals (update) end exactly as a run that never crashed', async () => {
    const sdir = mkdtempSync(join(tmpdir(), 'ds-kill-state-'));
    try {
      const rand = prng(5);
      const t0 = Date.UTC(2026, 0, 1);
      // Out of order by up to 1 s with a 5 s watermark delay: no row is ever late, wherever the batches are cut.
      const events = Array.from({ length: 20_000 }, (_, i) => ({
        ts: new Date(t0 + i * 50 + Math.floor(rand() * 1000)).toISOString(),
        k: `k${Math.floor(rand() * 5)}`,
        v: 1 + Math.floor(rand() * 9),
      }));
      writeFileSync(join(sdir, 'input.ndjson'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
      const log = await createLog(join(sdir, 'log'), { partitions: 2 });
      for (let p = 0; p < 2; p++)
        await log.append(
          p,
          events.filter((_, i) => i % 2 === p).map((e) => ({ value: JSON.stringify(e) })),
        );
      await log.close();
      writeFileSync(
        join(sdir, 'job.sql'),
        `CREATE SOURCE ev WITH (connector = 'log', path = '${sdir}/log', format = 'json', schema = 'ts TIMESTAMP, k VARCHAR, v INTEGER', event_time = 'ts', watermark = '5 seconds');
         CREATE SINK w WITH (connector = 'parquet', path = '${sdir}/out/w') AS SELECT window_start, k, count(*) AS n, sum(v) AS s FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start, k;
         CREATE SINK t WITH (connector = 'duckdb', path = '${sdir}/out/t.duckdb', table = 't', output_mode = 'update') AS SELECT k, count(*) AS n, sum(v) AS s FROM ev GROUP BY k;`,
      );
      const args = ['run', join(sdir, 'job.sql'), '--checkpoint', join(sdir, 'ck'), '--trigger', '20ms', '--max-records-per-partition', '300'];
      await killRepeatedly(args, join(sdir, 'ck'), { rounds: 4, rand, maxDelayMs: 200 });
      const finish = duckstream([...args.slice(0, 4), '--trigger', 'available-now', '--drain', '--max-records-per-partition', '3000']);
      expect(finish.status, finish.stderr).toBe(0);
      const engine = await Engine.open();
      try {
        const input = `read_ndjson(${literal(join(sdir, 'input.ndjson'))}, columns = {ts: 'TIMESTAMP', k: 'VARCHAR', v: 'INTEGER'})`;
        const expectedW = await engine.allJson(
          `SELECT time_bucket(INTERVAL '10 seconds', ts) AS window_start, k, count(*) AS n, sum(v) AS s FROM ${input} GROUP BY ALL`,
        );
        const actualW = await engine.allJson(`SELECT window_start, k, n, s FROM read_parquet(${literal(join(sdir, 'out/w/*.parquet'))})`);
        expect(actualW.length).toBe(expectedW.length);
        expect(canonical(actualW)).toEqual(canonical(expectedW));
        await engine.run(`ATTACH ${literal(join(sdir, 'out/t.duckdb'))} AS t (READ_ONLY)`);
        const expectedT = await engine.allJson(`SELECT k, count(*) AS n, sum(v) AS s FROM ${input} GROUP BY k`);
        expect(canonical(await engine.allJson('SELECT k, n, s FROM t.t'))).toEqual(canonical(expectedT));
      } finally {
        engine.close();
      }
    } finally {
      rmSync(sdir, { recursive: true, force: true });
    }
  }, 180_000);
});
