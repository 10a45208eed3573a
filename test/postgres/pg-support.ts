import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';

/** The shared test server (trust auth, db `test`): see docs/connectors/postgres.md#tests-and-benchmark. */
export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;
export const PG_USER = 'postgres';
export const PG_DB = 'test';
export const PG_URL = `postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${PG_DB}`;
const START_HINT = 'start PostgreSQL on 127.0.0.1:5432 with trust auth and a database `test` (e.g. `service postgresql start; createdb test`)';

let availability: { ok: boolean; why: string } | undefined;

/** Whether the server answers (psql is the client we did not write; it is needed for the interop checks too). */
export function pgAvailable(): { ok: boolean; why: string } {
  if (availability) return availability;
  const r = spawnSync('psql', psqlArgs('SELECT 1'), { encoding: 'utf8', timeout: 10_000 });
  availability =
    r.status === 0 ? { ok: true, why: '' } : { ok: false, why: `PostgreSQL/psql not usable: ${(r.error?.message ?? r.stderr ?? '').trim()}; ${START_HINT}` };
  return availability;
}

/** describe() when the server is up; skipped with how to start it otherwise — but a failure under CI=true. */
export function describePostgres(name: string, fn: () => void): void {
  const a = pgAvailable();
  if (a.ok) describe(name, fn);
  else if (process.env['CI'] === 'true')
    describe(name, () => {
      it('has its PostgreSQL server (CI=true)', () => {
        throw new Error(a.why);
      });
    });
  else {
    console.warn(`[postgres tests skipped] ${a.why}`);
    describe.skip(`${name} [skipped: ${START_HINT}]`, fn);
  }
}

/** A table name no other test run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

function psqlArgs(sql: string): string[] {
  return ['-h', PG_HOST, '-p', String(PG_PORT), '-U', PG_USER, '-d', PG_DB, '-X', '-v', 'ON_ERROR_STOP=1', '-At', '-F', '|', '-c', sql];
}

/** Rows of `sql` as psql prints them unaligned (`a|b`), one string per row: the independent client's view. */
export function psql(sql: string): string[] {
  const r = spawnSync('psql', psqlArgs(sql), { encoding: 'utf8', timeout: 30_000, env: { ...process.env, PGTZ: 'UTC' } });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.length > 0);
}

/** Run SQL on a connection of the test's own (to prepare tables, kill backends, read results). */
export async function pgQuery<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export async function dropTables(...names: string[]): Promise<void> {
  if (names.length > 0) await pgQuery(`DROP TABLE IF EXISTS ${names.map((n) => `"${n}"`).join(', ')}`);
}

/** This job's rows of duckstream_sink_commits are removed too (the table is shared by every test). */
export async function dropCommits(job: string): Promise<void> {
  await pgQuery(`DELETE FROM duckstream_sink_commits WHERE job = $1`, [job]).catch(() => undefined);
}
