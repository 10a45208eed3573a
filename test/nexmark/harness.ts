import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { NexmarkGenerator, nexmarkConfig, writeNexmarkLogs, EVENT_KINDS, type NexmarkConfig } from '../../src/nexmark/index.js';
import { Engine, ident, literal } from '../../src/sql/engine.js';
import { duckstream } from '../support/cli.js';
import { canonical } from '../support/stream-test.js';

/** Column types of the three Nexmark streams, as jobs/nexmark/*.sql declare them. */
export const NEXMARK_COLUMNS = {
  person: `{id: 'BIGINT', name: 'VARCHAR', email_address: 'VARCHAR', credit_card: 'VARCHAR', city: 'VARCHAR', state: 'VARCHAR', date_time: 'TIMESTAMP', extra: 'VARCHAR'}`,
  auction: `{id: 'BIGINT', item_name: 'VARCHAR', description: 'VARCHAR', initial_bid: 'BIGINT', reserve: 'BIGINT', date_time: 'TIMESTAMP', expires: 'TIMESTAMP', seller: 'BIGINT', category: 'BIGINT', extra: 'VARCHAR'}`,
  bid: `{auction: 'BIGINT', bidder: 'BIGINT', price: 'BIGINT', channel: 'VARCHAR', url: 'VARCHAR', date_time: 'TIMESTAMP', extra: 'VARCHAR'}`,
} as const;

export interface NexmarkFixture {
  readonly cwd: string;
  readonly oracle: Engine;
  close(): void;
}

/**
 * A working directory with `data/nexmark/{person,auction,bid}` logs of `events` generated events, and an oracle
 * DuckDB holding the same events as tables person, auction, bid (generated again from the seed and loaded with
 * read_ndjson, not through duckstream).
 */
export async function nexmarkFixture(events: number, overrides: Partial<NexmarkConfig> = {}): Promise<NexmarkFixture> {
  const cwd = mkdtempSync(join(tmpdir(), 'ds-nexmark-'));
  const config = nexmarkConfig({ rate: 100, seed: 7, ...overrides });
  await writeNexmarkLogs(config, { dir: join(cwd, 'data/nexmark'), events, partitions: 4, chunk: 1000 });
  const chunk = new NexmarkGenerator(config, 1).generate(events);
  const oracle = await Engine.open();
  await oracle.run(`SET TimeZone = 'UTC'`);
  for (const k of EVENT_KINDS) {
    const file = join(cwd, `${k}.ndjson`);
    writeFileSync(file, chunk[k][0]!.lines().join('\n') + '\n');
    await oracle.run(`CREATE TABLE ${ident(k)} AS SELECT * FROM read_ndjson(${literal(file)}, columns = ${NEXMARK_COLUMNS[k]})`);
  }
  return {
    cwd,
    oracle,
    close() {
      oracle.close();
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/**
 * Run jobs/nexmark/<query>.sql over the fixture with --trigger available-now --drain in small batches, and check that
 * the union of its output equals `expectedSql` run once by the oracle over all events; no row may be late.
 * Returns the number of output rows.
 */
export async function checkQuery(f: NexmarkFixture, query: string, expectedSql: string, maxPerPartition: number, minBatches: number): Promise<number> {
  const run = duckstream(
    ['run', resolve(`jobs/nexmark/${query}.sql`), '--trigger', 'available-now', '--drain', '--max-records-per-partition', String(maxPerPartition)],
    { cwd: f.cwd },
  );
  expect(run.status, run.stderr).toBe(0);
  const progress = readFileSync(join(f.cwd, '.duckstream', query, 'progress.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as { numRowsDroppedByWatermark: number });
  expect(progress.length).toBeGreaterThanOrEqual(minBatches);
  expect(
    progress.reduce((a, p) => a + p.numRowsDroppedByWatermark, 0),
    'late rows',
  ).toBe(0);
  const expected = await f.oracle.allJson(expectedSql);
  const dir = join(f.cwd, 'out/nexmark', query);
  // `**`: partitioned sinks (q10) keep their files in dt=…/hm=… directories; their values come back as VARCHAR.
  const actual = existsSync(dir)
    ? await f.oracle.allJson(`SELECT * FROM read_parquet(${literal(join(dir, '**', '*.parquet'))}, hive_partitioning = true, hive_types_autocast = false)`)
    : [];
  expect(expected.length, 'the oracle finds rows').toBeGreaterThan(0);
  expect(actual.length, `${query}: row count`).toBe(expected.length);
  expect(canonical(actual), `${query}: rows`).toEqual(canonical(expected));
  return actual.length;
}
