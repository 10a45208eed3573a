import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runJob, type RunJobOptions } from '../../src/driver/run-job.js';
import { createLog, openLog } from '../../src/log/index.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { duckstream } from '../support/cli.js';

/*
 * Job evolution with state (issue 14 item 1): an edited stateful query is refused with what changed, the
 * checkpoint is left byte for byte as it was, and the original job still resumes to exact output; new sinks start
 * empty, removed sinks' state is dropped, --reset-state and --rebuild-state do what they say. Golden outputs are one
 * DuckDB query over the input rows, never the code under test.
 */

const EVENTS = 120; // one every 5 s from 10:00: ten minutes
const HALF = 60;
const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
const event = (i: number) => ({ page: i % 3 === 0 ? 'a' : 'b', n: i, ts: new Date(T0 + i * 5000).toISOString() });

const SOURCE = `CREATE SOURCE pv WITH (connector = 'log', path = '\${dir}/logs/pv', format = 'json', schema = 'page VARCHAR, n BIGINT, ts TIMESTAMP', event_time = 'ts', watermark = '0 seconds');`;
const perMin = (size: string, extra = '') =>
  `CREATE SINK per_min WITH (connector = 'parquet', path = '\${dir}/out/per_min') AS
     SELECT window_start, window_end, page, count(*) AS c${extra} FROM TUMBLE(pv, ts, INTERVAL '${size}') GROUP BY window_start, window_end, page;`;
const IDS = `CREATE SINK ids WITH (connector = 'jsonl', path = '\${dir}/out/ids') AS SELECT n FROM pv;`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ds-evolve-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function append(from: number, until: number): Promise<void> {
  const log = await (from === 0 ? createLog(join(dir, 'logs', 'pv'), { partitions: 1 }) : openLog(join(dir, 'logs', 'pv')));
  const records = [];
  for (let i = from; i < until; i++) records.push({ value: JSON.stringify(event(i)) });
  await log.append(0, records);
  await log.close();
}

function jobFile(name: string, ...sinks: string[]): string {
  // One job name (its file's name) in every version: the notebook catalog knows a job by it.
  mkdirSync(join(dir, name), { recursive: true });
  const file = join(dir, name, 'job.sql');
  writeFileSync(file, [SOURCE, ...sinks].join('\n').replaceAll('${dir}', dir));
  return file;
}

async function run(file: string, o: Partial<RunJobOptions> = {}): Promise<string[]> {
  const notes: string[] = [];
  await runJob({
    jobFile: file,
    checkpoint: join(dir, 'checkpoint'),
    trigger: { kind: 'available-now' },
    caps: { maxRecordsPerBatch: 25 },
    note: (m) => notes.push(m),
    ...o,
  });
  return notes;
}

/** Every file of the checkpoint and its content's hash. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(join(dir, 'checkpoint'));
  return out;
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const engine = await Engine.open();
  try {
    return await engine.allJson(sql);
  } finally {
    engine.close();
  }
}

const events = (from: number, until: number) =>
  `(SELECT * FROM (VALUES ${Array.from({ length: until - from }, (_, k) => {
    const e = event(from + k);
    return `('${e.page}', ${e.n}, TIMESTAMP '${e.ts.replace('T', ' ').replace('Z', '')}')`;
  }).join(', ')}) AS t(page, n, ts))`;

/** The golden windows: one GROUP BY over the given input rows. */
const golden = (minutes: number, input: string, where = 'true') =>
  query(
    `SELECT * FROM (SELECT time_bucket(INTERVAL '${minutes} minutes', ts) AS window_start, page, count(*) AS c FROM ${input} GROUP BY ALL) WHERE ${where} ORDER BY ALL`,
  );
const output = (where = 'true', extra = '') =>
  query(`SELECT window_start, page, c${extra} FROM read_parquet(${literal(join(dir, 'out', 'per_min', '**', '*.parquet'))}) WHERE ${where} ORDER BY ALL`);

describe('job evolution with state', () => {
  it('a changed window size is refused with what changed, the checkpoint is unchanged, and the original job resumes exactly', async () => {
    await append(0, HALF);
    const original = jobFile('a', perMin('1 minute'));
    await run(original);
    const before = snapshot();
    const edited = jobFile('b', perMin('2 minutes'));
    const refusal = await run(edited).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(refusal?.message).toMatch(/sink 'per_min' \(TUMBLE window append[^)]*\): window size 1 minute → 2 minutes/);
    expect(refusal?.message).toContain('--reset-state per_min');
    expect(refusal?.message).toContain('--rebuild-state per_min');
    expect(snapshot()).toEqual(before);
    await append(HALF, EVENTS);
    await run(original, { drain: true });
    expect(await output()).toEqual(await golden(1, events(0, EVENTS)));
  });

  it('a new aggregate is refused by name; the CLI exits 2', async () => {
    await append(0, HALF);
    await run(jobFile('a', perMin('1 minute')));
    const before = snapshot();
    const r = duckstream(['run', jobFile('b', perMin('1 minute', ', sum(n) AS total')), '--checkpoint', join(dir, 'checkpoint'), '--trigger', 'once']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('new aggregate sum(n)');
    // Said once, as an aggregate, not again as an output column.
    expect(r.stderr).not.toContain('new output column');
    expect(snapshot()).toEqual(before);
  });

  it('--reset-state starts the state empty from the current offsets; the rows already written stay', async () => {
    await append(0, HALF);
    await run(jobFile('a', perMin('1 minute')));
    const written = await output();
    await append(HALF, EVENTS);
    const notes = await run(jobFile('b', perMin('2 minutes')), { evolution: { resetState: ['per_min'] }, drain: true });
    expect(notes.join('\n')).toContain("sink 'per_min': state reset (--reset-state)");
    const after = await output();
    const added = after.filter((r) => !written.some((w) => JSON.stringify(w) === JSON.stringify(r)));
    expect(after.length).toBe(written.length + added.length);
    expect(added).toEqual(await golden(2, events(HALF, EVENTS)));
  });

  it('--rebuild-state recomputes the state from the history without writing output: what follows equals a clean run', async () => {
    await append(0, HALF);
    await run(jobFile('a', perMin('1 minute')));
    const written = await output();
    // Purge the first batches' offset and commit entries, as the log retention does: the rebuild reads that history from the source.
    for (const log of ['offsets', 'commits']) rmSync(join(dir, 'checkpoint', log, '0'));
    await append(HALF, EVENTS);
    const notes = await run(jobFile('b', perMin('2 minutes')), { evolution: { rebuildState: ['per_min'] }, drain: true });
    expect(notes.join('\n')).toMatch(/rebuilt the state of 'per_min' from 60 records/);
    const after = await output();
    const added = after.filter((r) => !written.some((w) => JSON.stringify(w) === JSON.stringify(r)));
    // A clean run of the edited job over all input, less the windows that had closed before the restart (the last
    // first-half event is at 10:04:55, so the watermark had passed 10:04): 10:04–10:06 holds rows of both halves.
    expect(added).toEqual(await golden(2, events(0, EVENTS), `window_start >= TIMESTAMP '2026-01-01 10:04:00'`));
  });

  it('a new stateful sink starts empty and says so; a removed one has its state dropped and says so', async () => {
    await append(0, HALF);
    await run(jobFile('a', perMin('1 minute'), IDS));
    await append(HALF, EVENTS);
    const perPage = `CREATE SINK per_page WITH (connector = 'jsonl', path = '\${dir}/out/per_page', output_mode = 'complete') AS SELECT page, count(*) AS c FROM pv GROUP BY page;`;
    const notes = await run(jobFile('b', IDS, perPage));
    expect(notes).toContain("sink 'per_page' is new: its state starts empty from the current offsets");
    expect(notes).toContain("sink 'per_min' is no longer in the job (or keeps no state): its state is dropped");
    const files = readdirSync(join(dir, 'out', 'per_page')).sort();
    const last = readFileSync(join(dir, 'out', 'per_page', files.at(-1)!), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as object);
    expect(last.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual(
      await query(`SELECT page, count(*)::INTEGER AS c FROM ${events(HALF, EVENTS)} GROUP BY page ORDER BY page`),
    );
    const engine = await Engine.open();
    try {
      await engine.run(`ATTACH ${literal(join(dir, 'checkpoint', 'state.duckdb'))} AS s (READ_ONLY)`);
      const tables = await engine.all(`SELECT table_name FROM duckdb_tables() WHERE database_name = 's' ORDER BY 1`);
      expect(tables.map((t) => t['table_name']).filter((t) => String(t).includes('per_min'))).toEqual([]);
    } finally {
      engine.close();
    }
  });

  it('refuses --reset-state for a sink that keeps no state, naming the stateful ones', async () => {
    await append(0, 10);
    await expect(run(jobFile('a', perMin('1 minute'), IDS), { evolution: { resetState: ['ids'] } })).rejects.toThrow(
      /--reset-state ids: the job has no stateful sink 'ids'[\s\S]*per_min/,
    );
  });
});
