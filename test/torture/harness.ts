import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { prng } from '../../src/demo/pageviews.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { canonical } from '../support/stream-test.js';

/**
 * What every torture scenario shares: one job with the four kinds of sink the exactly-once claim covers (a stateless
 * Parquet sink, a TUMBLE windowed aggregate, a running aggregate upserted into DuckDB, a JSON-lines sink with every
 * record's coordinates), its input, and the oracle: each sink compared with one DuckDB query over all input.
 */
export const PARTITIONS = 2;
export const SCHEMA = 'id BIGINT, ts TIMESTAMP, k VARCHAR, v INTEGER';
const COLUMNS = `{id: 'BIGINT', ts: 'TIMESTAMP', k: 'VARCHAR', v: 'INTEGER'}`;

/**
 * Events 100 ms apart in event time, out of order by up to 1 s. Partition p gets the events with id % PARTITIONS = p,
 * in id order, so a partition's new rows are never more than 1 s behind its own maximum: with a 5 s watermark delay
 * no row is late wherever batches are cut, and the oracle needs no watermark simulation.
 */
export function events(n: number, seed: number): string[] {
  const rand = prng(seed);
  const t0 = Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, id) =>
    JSON.stringify({ id, ts: new Date(t0 + id * 100 + Math.floor(rand() * 1000)).toISOString(), k: `k${Math.floor(rand() * 7)}`, v: Math.floor(rand() * 10) }),
  );
}

/** The job, reading `<dir>/log` and writing under `<out>`; the checkpoint is the caller's. */
export function writeJob(dir: string, out: string): string {
  const file = join(dir, 'job.sql');
  writeFileSync(
    file,
    `CREATE SOURCE ev WITH (connector = 'log', path = '${join(dir, 'log')}', format = 'json', schema = '${SCHEMA}', event_time = 'ts', watermark = '5 seconds');
CREATE SINK raw WITH (connector = 'parquet', path = '${out}/raw') AS SELECT id, k, v FROM ev WHERE v % 3 = 0;
CREATE SINK w WITH (connector = 'parquet', path = '${out}/w') AS SELECT window_start, k, count(*) AS n, sum(v) AS s FROM TUMBLE(ev, ts, INTERVAL '10 seconds') GROUP BY window_start, k;
CREATE SINK t WITH (connector = 'duckdb', path = '${out}/t.duckdb', table = 't', output_mode = 'update') AS SELECT k, count(*) AS n, sum(v) AS s FROM ev GROUP BY k;
CREATE SINK ids WITH (connector = 'jsonl', path = '${out}/ids') AS SELECT id, _partition AS p, _offset AS o FROM ev;
`,
  );
  return file;
}

/**
 * A second process that appends `lines` to `<dir>/log` in rounds of `perRound` records per partition, `pauseMs`
 * apart, until all are written or `<dir>/stop` exists; it then writes how many records it appended to
 * `<dir>/appended` (always whole rounds, so the input is a known prefix of `lines`) and exits.
 */
export function startAppender(
  dir: string,
  lines: readonly string[],
  perRound: number,
  pauseMs: number,
): { child: ChildProcess; appended: () => Promise<number> } {
  const input = join(dir, 'all-events.json');
  writeFileSync(input, JSON.stringify(lines));
  const script = join(dir, 'appender.mjs');
  writeFileSync(
    script,
    `import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { openLog } from ${JSON.stringify(resolve('dist/src/log/index.js'))};
const lines = JSON.parse(readFileSync(${JSON.stringify(input)}, 'utf8'));
const log = await openLog(${JSON.stringify(join(dir, 'log'))});
const round = ${perRound * PARTITIONS};
let done = 0;
while (done < lines.length && !existsSync(${JSON.stringify(join(dir, 'stop'))})) {
  const chunk = lines.slice(done, done + round);
  for (let p = 0; p < ${PARTITIONS}; p++) await log.append(p, chunk.filter((_, i) => (done + i) % ${PARTITIONS} === p).map((value) => ({ value })));
  done += chunk.length;
  await new Promise((r) => setTimeout(r, ${pauseMs}));
}
await log.close();
writeFileSync(${JSON.stringify(join(dir, 'appended'))}, String(done));
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    child,
    appended: async () => {
      writeFileSync(join(dir, 'stop'), '');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      return Number(readFileSync(join(dir, 'appended'), 'utf8'));
    },
  };
}

/** Each sink of the job compared with one DuckDB query over `lines`: throws (an assertion) on any difference. */
export async function expectExactOutput(out: string, lines: readonly string[], label = ''): Promise<void> {
  const input = join(out, '..', `oracle-input-${lines.length}.ndjson`);
  writeFileSync(input, lines.join('\n') + '\n');
  const engine = await Engine.open();
  try {
    await engine.run(`SET TimeZone = 'UTC'`);
    await engine.run(`CREATE TABLE input AS SELECT * FROM read_ndjson(${literal(input)}, columns = ${COLUMNS})`);
    const raw = await engine.allJson(`SELECT id, k, v FROM read_parquet(${literal(join(out, 'raw/*.parquet'))})`);
    expect(canonical(raw), `${label} raw`).toEqual(canonical(await engine.allJson(`SELECT id, k, v FROM input WHERE v % 3 = 0`)));
    const w = await engine.allJson(`SELECT window_start, k, n, s FROM read_parquet(${literal(join(out, 'w/*.parquet'))})`);
    const expectedW = await engine.allJson(
      `SELECT time_bucket(INTERVAL '10 seconds', ts) AS window_start, k, count(*) AS n, sum(v) AS s FROM input GROUP BY ALL`,
    );
    expect(w.length, `${label} windows`).toBe(expectedW.length);
    expect(canonical(w), `${label} windows`).toEqual(canonical(expectedW));
    await engine.run(`ATTACH ${literal(join(out, 't.duckdb'))} AS t (READ_ONLY)`);
    expect(canonical(await engine.allJson('SELECT k, n, s FROM t.t')), `${label} running totals`).toEqual(
      canonical(await engine.allJson('SELECT k, count(*) AS n, sum(v) AS s FROM input GROUP BY k')),
    );
    const ids = await engine.all(
      `SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS d, count(DISTINCT (p, o))::BIGINT AS coords, coalesce(max(id), -1)::BIGINT AS hi FROM read_json_auto(${literal(join(out, 'ids/*.jsonl'))})`,
    );
    const n = BigInt(lines.length);
    expect(ids[0], `${label} ids: 0 lost, 0 duplicated`).toEqual({ n, d: n, coords: n, hi: n - 1n });
  } finally {
    engine.close();
  }
}

/** The last progress record's batch id + 1: how many batches the checkpoint has run. */
export function batchesRun(checkpoint: string): number {
  const file = join(checkpoint, 'progress.ndjson');
  if (!existsSync(file)) return 0;
  const last = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .at(-1);
  return last ? (JSON.parse(last) as { batchId: number }).batchId + 1 : 0;
}

/** Progress records that say their batch was re-run after a crash. */
export function recoveredBatches(checkpoint: string): number {
  const file = join(checkpoint, 'progress.ndjson');
  return existsSync(file) ? (readFileSync(file, 'utf8').match(/"recovered":true/g) ?? []).length : 0;
}

/** One line of figures a scenario prints (the torture command's report). */
export function report(scenario: string, figures: Record<string, string | number>): void {
  const line = `torture ${scenario}: ${Object.entries(figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}`;
  process.stdout.write(line + '\n');
  const file = process.env['TORTURE_REPORT'];
  if (file) writeFileSync(file, line + '\n', { flag: 'a' });
}
