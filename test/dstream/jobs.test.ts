/** The DStream example jobs in jobs/*.ts, run by the built CLI as a user would (`duckstream run jobs/x.ts`). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine, literal } from '../../src/sql/engine.js';
import { duckstream } from '../support/cli.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('DStream example jobs', () => {
  it('jobs/user-sessions.ts: per-user running counts (updateStateByKey) land exactly once in DuckDB', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ds-jobs-'));
    dirs.push(cwd);
    expect(duckstream(['log', 'create', 'data/logs/pageviews', '--partitions', '1'], { cwd }).status).toBe(0);
    const views = [1, 2, 1, 3, 1].map((u, i) => JSON.stringify({ ts: `2026-01-01 00:00:0${i}`, user_id: u, url: `/p${i}`, status: 200 })).join('\n');
    expect(duckstream(['log', 'append', 'data/logs/pageviews'], { cwd, input: `${views}\n` }).status).toBe(0);
    const run = duckstream(['run', resolve('jobs/user-sessions.ts'), '--trigger', 'once'], { cwd });
    expect(run.stderr).toMatch(/batch 0: 5 rows/);
    expect(run.status).toBe(0);
    const engine = await Engine.open();
    try {
      await engine.run(`ATTACH ${literal(join(cwd, 'out/user_views.duckdb'))} AS o (READ_ONLY)`);
      const rows = await engine.all('SELECT user_id::INTEGER AS u, views::INTEGER AS n FROM o.user_views ORDER BY u');
      expect(rows).toEqual([{ u: 1, n: 3 }, { u: 2, n: 1 }, { u: 3, n: 1 }]);
    } finally {
      engine.close();
    }
  });

  it('a job without a default export function is refused with a fix', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ds-jobs-'));
    dirs.push(cwd);
    const r = duckstream(['run', resolve('jobs/missing-job.ts')], { cwd });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/does not exist/);
  });
});
