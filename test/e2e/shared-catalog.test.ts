import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLog } from '../../src/log/index.js';
import { prng } from '../../src/demo/pageviews.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { duckstream, duckstreamBackground } from '../support/cli.js';

/**
 * Two jobs whose Parquet sinks share one folder share its notebook catalog: a third process (a notebook) opens it
 * while both run and sees both jobs' views, each with exactly the rows of its query over the input.
 */
const RECORDS = 4000;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ds-catalog-'));
  const rand = prng(5);
  const lines = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: i, status: rand() < 0.2 ? 500 : 200 }));
  writeFileSync(join(dir, 'input.ndjson'), lines.join('\n') + '\n');
  const log = await createLog(join(dir, 'log'), { partitions: 2 });
  for (let p = 0; p < 2; p++)
    await log.append(
      p,
      lines.filter((_, i) => i % 2 === p).map((value) => ({ value })),
    );
  await log.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeJob(file: string, sink: string, where: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    `CREATE SOURCE ev WITH (connector = 'log', path = '${dir}/log', format = 'json', schema = 'id BIGINT, status INTEGER');
     CREATE SINK ${sink} WITH (connector = 'parquet', path = '${dir}/out/${sink}') AS SELECT id FROM ev WHERE ${where};`,
  );
  return path;
}

/** A notebook in its own process: reopens the catalog until both views hold `want` rows (or 20 s pass), prints what it saw. */
function notebook(catalog: string, want: Record<string, number>): Record<string, number> {
  const script = `
    import { DuckDBInstance } from '@duckdb/node-api';
    const want = ${JSON.stringify(want)};
    let seen = {};
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      try {
        const db = await DuckDBInstance.create(${JSON.stringify(catalog)}, { access_mode: 'READ_ONLY' });
        const c = await db.connect();
        seen = {};
        for (const v of Object.keys(want)) seen[v] = Number((await c.runAndReadAll('SELECT count(*) AS n FROM ' + v)).getRowObjectsJS()[0].n);
        c.closeSync();
        db.closeSync();
        if (Object.keys(want).every((v) => seen[v] === want[v])) break;
      } catch (e) { seen = { error: String(e) }; }
      await new Promise((r) => setTimeout(r, 50));
    }
    console.log(JSON.stringify(seen));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

describe('shared notebook catalog', () => {
  it('holds the views of two jobs writing into one folder, read by a third process while both run', async () => {
    const engine = await Engine.open();
    let want: Record<string, number>;
    try {
      const input = `read_ndjson(${literal(join(dir, 'input.ndjson'))}, columns = {id: 'BIGINT', status: 'INTEGER'})`;
      const golden = await engine.all(
        `SELECT count(*) FILTER (status >= 500)::INTEGER AS errors, count(*) FILTER (status < 500)::INTEGER AS oks FROM ${input}`,
      );
      want = golden[0] as Record<string, number>;
    } finally {
      await engine.close();
    }
    expect(want.errors! > 0 && want.oks! > 0).toBe(true);
    const jobs = [writeJob('errors.sql', 'errors', 'status >= 500'), writeJob('oks.sql', 'oks', 'status < 500')];
    const children = jobs.map((job, i) =>
      duckstreamBackground(['run', job, '--checkpoint', join(dir, `ck${i}`), '--trigger', '20ms', '--max-records-per-partition', '250']),
    );
    const stderr = children.map(() => '');
    children.forEach((c, i) => c.stderr!.on('data', (d: Buffer) => (stderr[i] += d.toString())));
    try {
      const seen = notebook(join(dir, 'out', 'catalog.duckdb'), want);
      expect(seen, stderr.join('\n')).toEqual(want);
      expect(children.map((c) => c.exitCode)).toEqual([null, null]); // both still running
    } finally {
      for (const c of children) {
        c.kill('SIGKILL');
        if (c.exitCode === null) await new Promise((r) => c.once('exit', r));
      }
    }
    // One catalog, and no publication temp left behind (the sinks' own staging folders aside).
    expect(
      readdirSync(join(dir, 'out'))
        .filter((f) => f.includes('catalog'))
        .sort(),
    ).toEqual(['.catalog.duckdb.lock', 'catalog.duckdb']);

    // A third job with a sink named like one the first job owns in that catalog is refused at start, naming both jobs.
    const clash = writeJob('clash.sql', 'errors', 'status = 200');
    const refused = duckstream(['run', clash, '--checkpoint', join(dir, 'ck-clash'), '--trigger', 'available-now']);
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`view 'errors' of job clash is already owned by job errors`);
    expect(refused.stderr).toContain('rename the sink');
    // The refused job left the catalog as it was.
    expect(notebook(join(dir, 'out', 'catalog.duckdb'), want)).toEqual(want);
  });
});
