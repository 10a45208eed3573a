import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, literal } from '../../src/sql/engine.js';
import { duckstream, duckstreamBackground } from '../support/cli.js';

/** The README's commands, run as a newcomer would, in a fresh directory. */
const readme = readFileSync(resolve('README.md'), 'utf8');
let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'ds-readme-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function block(startsWith: string): string {
  const blocks = [...readme.matchAll(/```(?:sh|sql)\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const found = blocks.find((b) => b.trimStart().startsWith(startsWith));
  if (!found) throw new Error(`README has no code block starting with '${startsWith}'`);
  return found;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const e = await Engine.open();
  try {
    return await e.allJson(sql);
  } finally {
    e.close();
  }
}

describe('README tour', () => {
  it('1. creates, appends to, describes and reads an embedded log', () => {
    const commands = block('npx duckstream log create');
    expect(commands).toMatch(/log append data\/logs\/clicks --key-field user/);
    expect(duckstream(['log', 'create', 'data/logs/clicks', '--partitions', '3'], { cwd }).status).toBe(0);
    const lines = [...commands.matchAll(/'(\{[^']+\})'/g)].map((m) => m[1]!);
    expect(lines).toHaveLength(2);
    const append = duckstream(['log', 'append', 'data/logs/clicks', '--key-field', 'user'], { cwd, input: lines.join('\n') + '\n' });
    expect(append.status, append.stderr).toBe(0);
    expect(append.stdout + append.stderr).toMatch(/2/);
    const described = duckstream(['log', 'describe', 'data/logs/clicks', '--json'], { cwd });
    expect(described.status, described.stderr).toBe(0);
    const parts = JSON.parse(described.stdout) as unknown;
    const list = (Array.isArray(parts) ? parts : (parts as { partitions: unknown[] }).partitions) as { partition: number; endOffset: string | number }[];
    expect(list.map((p) => Number(p.endOffset)).reduce((a, b) => a + b, 0)).toBe(2);
    let seen = 0;
    for (let p = 0; p < 3; p++) {
      const read = duckstream(['log', 'read', 'data/logs/clicks', '--partition', String(p), '--from', '0', '--limit', '10'], { cwd });
      expect(read.status, read.stderr).toBe(0);
      seen += (read.stdout.match(/"status":/g) ?? []).length;
    }
    expect(seen).toBe(2);
  });

  it('2. runs the README job with available-now, and status shows zero lag', async () => {
    const job = block('-- jobs/clicks.sql');
    mkdirSync(join(cwd, 'jobs'), { recursive: true });
    writeFileSync(join(cwd, 'jobs', 'clicks.sql'), job);
    const run = duckstream(['run', 'jobs/clicks.sql', '--trigger', 'available-now'], { cwd });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Batch: 0/); // the console sink
    expect(await rows(`SELECT "user", url, status FROM read_parquet(${literal(join(cwd, 'out/clicks/errors/*.parquet'))})`)).toEqual([
      { user: 'bob', url: '/cart', status: '500' },
    ]);
    const status = duckstream(['status', '.duckstream/clicks', '--json'], { cwd });
    expect(status.status, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { lastCommitted: { batchId: number }; pending: unknown; partitions: { lag: string }[] };
    expect(s.lastCommitted.batchId).toBe(0);
    expect(s.pending).toBeNull();
    expect(s.partitions.map((p) => p.lag)).toEqual(['0', '0', '0']);
    const human = duckstream(['status', '.duckstream/clicks'], { cwd });
    expect(human.stdout).toMatch(/last committed batch: 0/);
    expect(human.stdout).toMatch(/pending recovery: none/);
  });

  it('SIGINT finishes the current batch, commits and exits 0', async () => {
    const child = duckstreamBackground(['run', 'jobs/clicks.sql', '--trigger', '100ms', '--checkpoint', '.duckstream/clicks-sigint'], { cwd });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 20_000;
    while (!existsSync(join(cwd, '.duckstream/clicks-sigint/commits/0')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/SIGINT: finishing the current batch, then stopping/);
    expect(existsSync(join(cwd, '.duckstream/clicks-sigint/lock'))).toBe(false);
  });

  it('errors say what is wrong and how to fix it, with exit code 2', () => {
    const missing = duckstream(['run', 'jobs/nope.sql'], { cwd });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/cannot read job file jobs\/nope.sql[\s\S]*fix:/);
    writeFileSync(
      join(cwd, 'jobs', 'bad.sql'),
      `CREATE SOURCE s WITH (path = 'data/logs/clicks');\nCREATE SINK k WITH (connector = 'parquet') AS SELECT * FROM s;`,
    );
    const bad = duckstream(['run', 'jobs/bad.sql', '--trigger', 'once'], { cwd });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/sink 'k': connector 'parquet' needs path = '<dir>'/);
    const trigger = duckstream(['run', 'jobs/clicks.sql', '--trigger', 'sometimes'], { cwd });
    expect(trigger.status).toBe(2);
    expect(trigger.stderr).toMatch(/--trigger 'sometimes' is not a trigger[\s\S]*fix: use an interval like/);
  });
});

describe('npm start (the demo)', () => {
  it('fills the sample log, runs jobs/pageview-errors.sql and leaves Parquet, dead letters and a catalog', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-demo-'));
    try {
      cpSync(resolve('data/countries.csv'), join(dir, 'data/countries.csv'));
      cpSync(resolve('jobs'), join(dir, 'jobs'), { recursive: true });
      const demo = duckstream(['demo'], { cwd: dir });
      expect(demo.status, demo.stderr).toBe(0);
      expect(demo.stderr).toMatch(/wrote 5003 records to data\/logs\/pageviews/);
      expect(demo.stderr).toMatch(/batch 2: 1003 rows/);
      const errors = await rows(`SELECT count(*)::INTEGER AS n FROM read_parquet(${literal(join(dir, 'out/pageview-errors/errors/*.parquet'))})`);
      expect(Number(errors[0]!['n'])).toBeGreaterThan(50);
      const letters = readFileSync(join(dir, 'out/pageview-errors/pageviews.dead_letter/batch-0000000000.jsonl'), 'utf8').trim().split('\n');
      expect(letters).toHaveLength(3);
      const e = await Engine.open(join(dir, 'out/pageview-errors/catalog.duckdb'), { access_mode: 'READ_ONLY' });
      try {
        const viaCatalog = await e.all('SELECT count(*)::INTEGER AS n FROM errors');
        expect(viaCatalog[0]!['n']).toBe(errors[0]!['n']);
      } finally {
        e.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
