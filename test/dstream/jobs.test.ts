/** The DStream example jobs in jobs/*.ts, run by the built CLI as a user would (`duckstream run jobs/x.ts`). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine, literal } from '../../src/sql/engine.js';
import { duckstream, duckstreamBackground } from '../support/cli.js';

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
      expect(rows).toEqual([
        { u: 1, n: 3 },
        { u: 2, n: 1 },
        { u: 3, n: 1 },
      ]);
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

describe('jobs/wordcount.ts', () => {
  it('counts words over a 30 s window sliding every 10 s, printed and saved to Parquet', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ds-wc-'));
    dirs.push(cwd);
    expect(duckstream(['log', 'create', 'data/logs/lines', '--partitions', '1'], { cwd }).status).toBe(0);
    expect(duckstream(['log', 'append', '--format', 'text', 'data/logs/lines'], { cwd, input: 'To be or not to be\nthat is the question\n' }).status).toBe(0);
    const child = duckstreamBackground(['run', resolve('jobs/wordcount.ts'), '--trigger', '10s'], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/batch 0:/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    expect(await new Promise((r) => child.once('exit', r)), stderr).toBe(0);
    expect(stdout).toMatch(/\(to,2\)/);
    const engine = await Engine.open();
    try {
      const rows = await engine.all(`SELECT word, n::INTEGER AS n FROM read_parquet(${literal(join(cwd, 'out/word_counts_30s/*.parquet'))}) ORDER BY word`);
      expect(rows).toEqual(
        [
          ['be', 2],
          ['is', 1],
          ['not', 1],
          ['or', 1],
          ['question', 1],
          ['that', 1],
          ['the', 1],
          ['to', 2],
        ].map(([word, n]) => ({ word, n })),
      );
    } finally {
      engine.close();
    }
  });
});
