/**
 * PostgreSQL sink benchmark, in one run against the local server (127.0.0.1:5432, trust, db `test`): B batches of R
 * page-view rows (ts TIMESTAMP, user_id BIGINT, url VARCHAR, status INTEGER, latency_ms DOUBLE) held in DuckDB temp
 * tables, as the driver hands them to sinks, written three ways, each batch in its own transaction:
 *   raw:    the batch's CSV (made by DuckDB beforehand, not timed) streamed into `COPY … FROM STDIN` with
 *           pg-copy-streams: PostgreSQL's bulk path with nothing around it (the baseline);
 *   sink:   PostgresSink.addBatch (append mode): DuckDB → CSV, one transaction with COPY and the batch id row;
 *   insert: batched multi-row `INSERT … VALUES ($1…), …` (1 000 rows per statement), the values read from DuckDB
 *           (the alternative the sink could have used; first round only).
 * Rounds alternate the order of raw and sink; medians are reported. The ratio raw/sink is the figure (target ≥ 0.8).
 *
 *   npm run build && node dist/bench/postgres.js [rows-per-batch=100000] [batches=4] [rounds=5]
 */
import { createReadStream } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createSink } from '../src/connectors/registry.js';
import { Engine, literal } from '../src/sql/engine.js';

const rowsPerBatch = Number(process.argv[2] ?? 100_000);
const batches = Number(process.argv[3] ?? 4);
const rounds = Number(process.argv[4] ?? 5);
const URL = 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'ds-bench-pg-'));
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const COLUMNS = 'ts timestamp without time zone, user_id bigint, url text, status integer, latency_ms double precision';

async function main(): Promise<void> {
  const engine = await Engine.open();
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  const relations: string[] = [];
  for (let b = 0; b < batches; b++) {
    const rel = `"bench_batch_${b}"`;
    await engine.run(
      `CREATE TEMP TABLE ${rel} AS SELECT TIMESTAMP '2026-01-01' + INTERVAL (i) MILLISECOND AS ts, (i * 7919 % 100000)::BIGINT AS user_id,
         '/page/' || (i % 997) || '?ref=' || (i % 13) AS url, (CASE WHEN i % 50 = 0 THEN 500 ELSE 200 END)::INTEGER AS status,
         (i % 1000) / 7.0 AS latency_ms FROM range(${b * rowsPerBatch}, ${(b + 1) * rowsPerBatch}) r(i)`,
    );
    await engine.run(`COPY ${rel} TO ${literal(join(dir, `b${b}.csv`))} (FORMAT csv, HEADER false)`);
    relations.push(rel);
  }
  const tables: string[] = [];
  const fresh = async (what: string, round: number): Promise<string> => {
    const t = `bench_${what}_${round}_${suffix}`;
    tables.push(t);
    await client.query(`CREATE TABLE "${t}" (${COLUMNS})`);
    return t;
  };

  const raw = async (round: number): Promise<number> => {
    const t = await fresh('raw', round);
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) {
      await client.query('BEGIN');
      await pipeline(createReadStream(join(dir, `b${b}.csv`), { highWaterMark: 1 << 20 }), client.query(copyFrom(`COPY "${t}" FROM STDIN (FORMAT csv)`)));
      await client.query('COMMIT');
    }
    return performance.now() - t0;
  };
  const sinkRun = async (round: number): Promise<number> => {
    const t = await fresh('sink', round);
    const sink = createSink('bench', { connector: 'postgres', url: URL, table: t }, { job: `bench_${suffix}_${round}` });
    await sink.open(engine);
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) await sink.addBatch({ batchId: b, batchTime: 0, engine, relation: relations[b]!, numRows: rowsPerBatch, mode: 'append' });
    const ms = performance.now() - t0;
    await sink.close();
    return ms;
  };
  const insert = async (round: number): Promise<number> => {
    const t = await fresh('insert', round);
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) {
      const rows = await engine.all(`SELECT ts::VARCHAR AS ts, user_id::VARCHAR AS user_id, url, status, latency_ms FROM ${relations[b]}`);
      await client.query('BEGIN');
      for (let i = 0; i < rows.length; i += 1000) {
        const chunk = rows.slice(i, i + 1000);
        const params: unknown[] = [];
        const values = chunk.map((r, j) => {
          params.push(r['ts'], r['user_id'], r['url'], r['status'], r['latency_ms']);
          return `($${j * 5 + 1}, $${j * 5 + 2}, $${j * 5 + 3}, $${j * 5 + 4}, $${j * 5 + 5})`;
        });
        await client.query(`INSERT INTO "${t}" VALUES ${values.join(', ')}`, params);
      }
      await client.query('COMMIT');
    }
    return performance.now() - t0;
  };

  const times: Record<'raw' | 'sink' | 'insert', number[]> = { raw: [], sink: [], insert: [] };
  const load = [loadavg()[0]!];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['raw', 'sink', 'insert'] as const) : (['sink', 'raw', 'insert'] as const);
    // The INSERT path only in the first round: it is several times slower, and one measurement settles the choice.
    for (const what of round === 0 ? order : order.filter((w) => w !== 'insert'))
      times[what].push(await (what === 'raw' ? raw(round) : what === 'sink' ? sinkRun(round) : insert(round)));
    load.push(loadavg()[0]!);
  }
  for (const t of tables) {
    const [{ n }] = (await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${t}"`)).rows as [{ n: string }];
    if (Number(n) !== rowsPerBatch * batches) throw new Error(`${t} has ${n} rows, expected ${rowsPerBatch * batches}`);
  }
  await client.query(`DROP TABLE ${tables.map((t) => `"${t}"`).join(', ')}`);
  await client.query(`DELETE FROM duckstream_sink_commits WHERE job LIKE $1`, [`bench_${suffix}_%`]);
  await client.end();
  engine.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const total = rowsPerBatch * batches;
  const rate = (ms: number) => Math.round(total / (ms / 1000));
  const m = { raw: median(times.raw), sink: median(times.sink), insert: median(times.insert) };
  console.log(
    JSON.stringify(
      {
        rowsPerBatch,
        batches,
        rounds,
        cpus: cpus().length,
        load1: load.map((l) => Math.round(l * 10) / 10),
        msPerRound: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.map(Math.round)])),
        rowsPerSec: { raw: rate(m.raw), sink: rate(m.sink), insert: rate(m.insert) },
        ratioSinkVsRawCopy: Math.round((m.raw / m.sink) * 100) / 100,
        ratioInsertVsRawCopy: Math.round((m.raw / m.insert) * 100) / 100,
      },
      null,
      2,
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
