import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { generatePageViews } from '../../src/demo/pageviews.js';
import { createLog } from '../../src/log/index.js';
import { duckstream } from '../support/cli.js';
import { runKillScenario } from './kill-harness.js';
import { describePostgres, dropCommits, dropTables, pgQuery, psql, uniqueName } from './pg-support.js';

describePostgres('duckstream run with postgres sinks', () => {
  it('SIGKILLed between a sink transaction and the commit log (2 kills): every table equals a clean run', async () => {
    await runKillScenario({ sinkKills: 2, randomKills: 0, partitions: 2, perPartition: 200, maxPerPartition: 40, seed: 3 });
  }, 60_000);

  it('a refused table is reported without the password of the url', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-pg-cli-'));
    const t = uniqueName('refused');
    const job = uniqueName('refusedjob');
    try {
      await pgQuery(`CREATE TABLE "${t}" (id text)`);
      const file = join(dir, `${job}.sql`);
      writeFileSync(
        file,
        `CREATE SOURCE ev WITH (connector = 'log', path = '${dir}/log', format = 'json', schema = 'id BIGINT');
         CREATE SINK out WITH (connector = 'postgres', url = 'postgres://postgres:CliS3cretPw@127.0.0.1:5432/test', table = '${t}') AS SELECT id FROM ev;`,
      );
      const log = await createLog(join(dir, 'log'), { partitions: 1 });
      await log.append(0, [{ value: '{"id": 1}' }]);
      await log.close();
      const run = duckstream(['run', file, '--checkpoint', join(dir, 'ck'), '--trigger', 'available-now']);
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`column "id" is text, but the query gives BIGINT`);
      expect(run.stderr).toContain('postgres://postgres:***@127.0.0.1:5432/test');
      expect(run.stderr + run.stdout).not.toContain('CliS3cretPw');
      expect(psql(`SELECT count(*) FROM "${t}"`)).toEqual(['0']);
    } finally {
      await dropTables(t);
      await dropCommits(job);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('jobs/pageview-postgres.sql (the documented example) fills its tables with what the input says', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ds-pg-example-'));
    const suffix = uniqueName('ex');
    const job = `pageview-postgres-${suffix}`;
    const tables = ['pageview_errors', 'pageview_url_totals'].map((t) => `${t}_${suffix}`);
    try {
      const views = generatePageViews(2000, 77);
      const log = await createLog(join(cwd, 'data/logs/pageviews'), { partitions: 4 });
      for (let p = 0; p < 4; p++)
        await log.append(
          p,
          views.filter((v) => v.user_id % 4 === p).map((v) => ({ value: JSON.stringify(v) })),
        );
      await log.close();
      // The example as documented, with table names of this run's own.
      const text = readFileSync('jobs/pageview-postgres.sql', 'utf8').replace(/table = '(\w+)'/g, `table = '$1_${suffix}'`);
      writeFileSync(join(cwd, `${job}.sql`), text);
      const run = duckstream(['run', `${job}.sql`, '--trigger', 'available-now', '--max-records-per-partition', '200'], { cwd });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/batch 2:/);

      const errors = views.filter((v) => v.status >= 500).map((v) => `${Date.parse(v.ts)}|${v.user_id}|${v.url}|${v.status}|${v.latency_ms}`);
      expect(psql(`SELECT (extract(epoch FROM ts) * 1000)::bigint, user_id, url, status, latency_ms FROM "${tables[0]}" ORDER BY 1, 2, 3`)).toEqual(
        errors.sort((a, b) => Number(a.split('|')[0]) - Number(b.split('|')[0]) || (a < b ? -1 : 1)),
      );
      const totals = new Map<string, { views: number; errors: number; max: number }>();
      for (const v of views) {
        const t = totals.get(v.url) ?? { views: 0, errors: 0, max: -Infinity };
        totals.set(v.url, { views: t.views + 1, errors: t.errors + (v.status >= 500 ? 1 : 0), max: Math.max(t.max, v.latency_ms) });
      }
      const expected = [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([u, t]) => `${u}|${t.views}|${t.errors}|${t.max}`);
      expect(psql(`SELECT url, views, errors, max_latency_ms FROM "${tables[1]}" ORDER BY url COLLATE "C"`)).toEqual(expected);
    } finally {
      await dropTables(...tables);
      await dropCommits(job);
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 60_000);
});
