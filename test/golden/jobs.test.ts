import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJob } from '../../src/job/parse-job.js';
import { createLog } from '../../src/log/index.js';
import { generatePageViews } from '../../src/demo/pageviews.js';
import { Engine, ident, literal } from '../../src/sql/engine.js';
import { duckstream } from '../support/cli.js';
import { canonical } from '../support/stream-test.js';

/**
 * Golden jobs: every job in jobs/ runs on fixed input in many small batches (then drains its windows), and each
 * sink's output must equal the same logic run once by DuckDB over all the input (read straight from NDJSON, not
 * through duckstream). That logic is the sink's own SELECT, or, for stateful jobs whose queries use our window
 * functions, the `CREATE VIEW <sink> AS …` in `<job>.oracle.sql`, written independently of them.
 */
const PARTITIONS = 4;

/** Input fixtures by source path: the records and how they are spread over partitions. */
const FIXTURES: Record<string, () => { key: string; value: Record<string, unknown>; partition: number }[]> = {
  'data/logs/pageviews': () => generatePageViews(3000, 1234).map((v) => ({ key: String(v.user_id), value: { ...v }, partition: v.user_id % PARTITIONS })),
};

const jobsDir = resolve('jobs');
// Jobs over the embedded log into files only: broker examples (jobs/nats-*, mqtt-*, amqp-*, *-postgres.sql) are
// run by their connectors' tests against the servers.
const writesToServer = (f: string) => /connector\s*=\s*'postgres'/.test(readFileSync(join(jobsDir, f), 'utf8'));
const jobFiles = readdirSync(jobsDir).filter(
  (f) =>
    f.endsWith('.sql') &&
    !f.endsWith('.oracle.sql') &&
    !writesToServer(f) &&
    parseJob(readFileSync(join(jobsDir, f), 'utf8'), f).sources.every((s) => (s.options['connector'] ?? 'log') === 'log'),
);
const tmpDirs: string[] = [];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('golden jobs', () => {
  it('has jobs to check', () => expect(jobFiles.length).toBeGreaterThan(0));

  for (const file of jobFiles) {
    it(`${file}: streaming output equals one DuckDB batch query over all input`, async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'ds-golden-'));
      tmpDirs.push(cwd);
      cpSync(resolve('data'), join(cwd, 'data'), { recursive: true, filter: (src) => !src.includes(`${join('data', 'logs')}`) });
      const def = parseJob(readFileSync(join(jobsDir, file), 'utf8'), file);
      const oracle = await Engine.open();
      try {
        await oracle.run(`SET TimeZone = 'UTC'`);
        for (const source of def.sources) {
          const path = source.options['path']!;
          const fixture = FIXTURES[path];
          if (!fixture) throw new Error(`no golden fixture for source path '${path}': add one to ${import.meta.url}`);
          const records = fixture();
          const log = await createLog(join(cwd, path), { partitions: PARTITIONS });
          const byPartition: string[][] = Array.from({ length: PARTITIONS }, () => []);
          const ndjson: string[] = [];
          for (const r of records) {
            const offset = byPartition[r.partition]!.length;
            byPartition[r.partition]!.push(JSON.stringify(r.value));
            ndjson.push(JSON.stringify({ ...r.value, _partition: r.partition, _offset: offset, _key: r.key }));
          }
          for (let p = 0; p < PARTITIONS; p++)
            await log.append(
              p,
              records.filter((r) => r.partition === p).map((r) => ({ key: r.key, value: JSON.stringify(r.value) })),
            );
          await log.close();
          const input = join(cwd, `${source.name}.ndjson`);
          writeFileSync(input, ndjson.join('\n') + '\n');
          const eventTime = source.options['event_time'];
          const replace = eventTime ? ` REPLACE (${ident(eventTime)}::TIMESTAMP AS ${ident(eventTime)})` : '';
          await oracle.run(`CREATE TABLE ${ident(source.name)} AS SELECT *${replace} FROM read_ndjson(${literal(input)})`);
        }
        for (const t of def.tables) {
          const reader = { parquet: 'read_parquet', csv: 'read_csv', json: 'read_json_auto' }[t.options['connector'] as 'csv'];
          await oracle.run(`CREATE VIEW ${ident(t.name)} AS SELECT * FROM ${reader}(${literal(join(cwd, t.options['path']!))})`);
        }

        const oracleFile = join(jobsDir, file.replace(/\.sql$/, '.oracle.sql'));
        const oracleViews = new Set<string>();
        if (existsSync(oracleFile)) {
          for (const stmt of readFileSync(oracleFile, 'utf8')
            .split(/;\s*\n/)
            .map((x) => x.replace(/^\s*--.*$/gm, '').trim())
            .filter((x) => x.length > 0)) {
            await oracle.run(stmt);
            const view = /^CREATE VIEW (\w+)/i.exec(stmt);
            if (view) oracleViews.add(view[1]!);
          }
        }
        const run = duckstream(['run', join(jobsDir, file), '--trigger', 'available-now', '--drain', '--max-records-per-partition', '97'], { cwd });
        expect(run.status, run.stderr).toBe(0);
        expect(run.stderr).toMatch(/batch 7:/); // many small batches, not one

        const checked = def.sinks.filter((s) => ['parquet', 'jsonl', 'duckdb'].includes(s.options['connector'] ?? ''));
        expect(checked.length).toBeGreaterThan(0);
        for (const sink of checked) {
          const expected = await oracle.allJson(oracleViews.has(sink.name) ? `SELECT * FROM ${ident(sink.name)}` : sink.query);
          const path = join(cwd, sink.options['path']!);
          let from: string;
          if (sink.options['connector'] === 'duckdb') {
            await oracle.run(`ATTACH ${literal(path)} AS ${ident(`out_${sink.name}`)} (READ_ONLY)`);
            from = `${ident(`out_${sink.name}`)}.${ident(sink.options['table']!)}`;
          } else {
            from = `${sink.options['connector'] === 'parquet' ? 'read_parquet' : 'read_json_auto'}(${literal(join(path, sink.options['connector'] === 'parquet' ? '*.parquet' : '*.jsonl'))})`;
          }
          const actual = await oracle.allJson(`SELECT * FROM ${from}`);
          expect(actual.length, `${sink.name}: row count`).toBe(expected.length);
          expect(canonical(actual), `${sink.name}: rows`).toEqual(canonical(expected));
        }
      } finally {
        oracle.close();
      }
    }, 120_000);
  }
});
