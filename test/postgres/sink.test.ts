import { afterAll, expect, it } from 'vitest';
import { createSink } from '../../src/connectors/registry.js';
import { DuckstreamError } from '../../src/errors.js';
import type { Sink, SinkBatch } from '../../src/sink/sink.js';
import { Engine } from '../../src/sql/engine.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { describePostgres, dropCommits, dropTables, pgQuery, PG_URL, psql, uniqueName } from './pg-support.js';

const job = uniqueName('sinktest');
const tables: string[] = [];
let engine: Engine;

function table(prefix: string): string {
  const t = uniqueName(prefix);
  tables.push(t);
  return t;
}

async function open(name: string, options: Record<string, string>): Promise<Sink> {
  engine ??= await Engine.open();
  const sink = createSink(name, { connector: 'postgres', url: PG_URL, ...options }, { job });
  await sink.open(engine);
  return sink;
}

let seq = 0;
async function batch(batchId: number, select: string, extra: Partial<SinkBatch> = {}): Promise<SinkBatch> {
  const relation = `"b_${batchId}_${seq++}"`;
  await engine.run(`CREATE TEMP TABLE ${relation} AS ${select}`);
  const [row] = await engine.all(`SELECT count(*)::INTEGER AS n FROM ${relation}`);
  return { batchId, batchTime: 0, engine, relation, numRows: Number(row?.['n']), ...extra };
}

/** Rows of `t` as psql prints them, ordered: `id|name`. */
function rows(t: string, columns = 'id, name', order = 'id'): string[] {
  return psql(`SELECT ${columns} FROM "${t}" ORDER BY ${order}`);
}

afterAll(async () => {
  engine?.close();
  await dropTables(...tables);
  await dropCommits(job);
});

describePostgres('postgres sink', () => {
  it('append: creates the table, COPYs each batch once; a replayed or older batch id is a no-op', async () => {
    const t = table('append');
    const sink = await open('app', { table: t });
    expect(await sink.lastBatchId!()).toBeUndefined();
    const of = (b: number) => `SELECT (${b} * 10 + i)::BIGINT AS id, 'r' || (${b} * 10 + i) AS name FROM range(3) r(i)`;
    await sink.addBatch(await batch(0, of(0)));
    await sink.addBatch(await batch(1, of(1)));
    await sink.addBatch(await batch(1, of(1))); // replay
    await sink.addBatch(await batch(0, of(0))); // older: also a replay
    await sink.addBatch(await batch(2, `SELECT 99::BIGINT AS id, 'x' AS name WHERE false`)); // empty batch: recorded
    expect(await sink.lastBatchId!()).toBe(2);
    await sink.close();
    const expected = [0, 1, 2, 10, 11, 12].map((i) => `${i}|r${i}`);
    expect(rows(t)).toEqual(expected);
    expect(psql(`SELECT batch_id, table_name FROM duckstream_sink_commits WHERE job = '${job}' AND sink = 'app'`)).toEqual([`2|"${t}"`]);

    // A restarted sink (new connection) sees batch 2 and skips its replay.
    const again = await open('app', { table: t });
    expect(await again.lastBatchId!()).toBe(2);
    await again.addBatch(await batch(2, of(2)));
    await again.addBatch(await batch(3, of(3)));
    await again.close();
    expect(rows(t)).toEqual([...expected, '30|r30', '31|r31', '32|r32']);
  });

  it('update: upserts on the keys (NULL keys included), complete: replaces the table, both in the batch transaction', async () => {
    const tu = table('update');
    const up = await open('up', { table: tu });
    const expectedU = new Map<string, string>();
    const batches = [
      [
        ['a', 1],
        ['b', 2],
        [null, 3],
      ],
      [
        ['b', 20],
        [null, 30],
      ],
      [['c', 5]],
    ] as const;
    for (const [i, b] of batches.entries()) {
      const values = b.map(([k, n]) => `(${k === null ? 'NULL' : `'${k}'`}, ${n}::BIGINT)`).join(', ');
      await up.addBatch(await batch(i, `SELECT * FROM (VALUES ${values}) v(k, n)`, { mode: 'update', keyColumns: ['k'] }));
      if (i === 1) await up.addBatch(await batch(1, `SELECT 'b' AS k, 999::BIGINT AS n`, { mode: 'update', keyColumns: ['k'] })); // replay: no-op
      for (const [k, n] of b) expectedU.set(k === null ? '' : k, `${k ?? ''}|${n}`);
    }
    await up.close();
    expect(rows(tu, 'k, n', 'k NULLS FIRST')).toEqual([...expectedU.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v));

    const tc = table('complete');
    const co = await open('co', { table: tc });
    await co.addBatch(await batch(0, `SELECT * FROM (VALUES ('a', 1::BIGINT), ('b', 2::BIGINT)) v(k, n)`, { mode: 'complete' }));
    await co.addBatch(await batch(1, `SELECT * FROM (VALUES ('a', 3::BIGINT), ('c', 4::BIGINT)) v(k, n)`, { mode: 'complete' }));
    await co.addBatch(await batch(0, `SELECT 'z' AS k, 0::BIGINT AS n`, { mode: 'complete' })); // replay: no-op
    await co.close();
    expect(rows(tc, 'k, n', 'k')).toEqual(['a|3', 'c|4']);
  });

  it('maps DuckDB types to PostgreSQL types that psql reads back as the same values', async () => {
    const t = table('types');
    const sink = await open('types', { table: t });
    await sink.addBatch(
      await batch(
        0,
        `SELECT 1::BIGINT AS i64, 7::INTEGER AS i32, 2.5::DOUBLE AS f64, 'it''s "q", \\. ok' AS s, '' AS empty, NULL::VARCHAR AS nul, true AS b,
          TIMESTAMP '2026-03-01 12:34:56.789' AS ts, TIMESTAMPTZ '2026-03-01 12:34:56+02' AS tstz, DATE '2026-03-01' AS d,
          123.45::DECIMAL(10,2) AS dec, [1, NULL, 3]::BIGINT[] AS li, ['a,b', 'c"d', NULL, 'e\\f']::VARCHAR[] AS ls, []::INTEGER[] AS le,
          {'x': 1, 'y': 'z'} AS st, '{"k": [1, 2]}'::JSON AS js, '\\xDE\\xAD'::BLOB AS bl, '6a2f41a3-c54c-fce8-32d2-0324e1c32e22'::UUID AS u,
          INTERVAL '1 day 2 hours' AS iv`,
      ),
    );
    await sink.close();
    const types = psql(
      `SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '"${t}"'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    expect(types).toEqual([
      'i64 bigint',
      'i32 integer',
      'f64 double precision',
      's text',
      'empty text',
      'nul text',
      'b boolean',
      'ts timestamp without time zone',
      'tstz timestamp with time zone',
      'd date',
      'dec numeric(10,2)',
      'li bigint[]',
      'ls text[]',
      'le integer[]',
      'st jsonb',
      'js jsonb',
      'bl bytea',
      'u uuid',
      'iv interval',
    ]);
    const [row] = psql(
      `SELECT i64, i32, f64, s, empty = '', nul IS NULL, b, ts, tstz, d, dec, li, ls, ls[3] IS NULL, ls[4], cardinality(le), st->>'y', js->'k'->>1, encode(bl, 'hex'), u, iv FROM "${t}"`,
    );
    expect(row!.split('|')).toEqual([
      '1',
      '7',
      '2.5',
      `it's "q", \\. ok`,
      't',
      't',
      't',
      '2026-03-01 12:34:56.789',
      '2026-03-01 10:34:56+00',
      '2026-03-01',
      '123.45',
      '{1,NULL,3}',
      '{"a,b","c\\"d",NULL,"e\\\\f"}',
      't',
      'e\\f',
      '0',
      'z',
      '2',
      'dead',
      '6a2f41a3-c54c-fce8-32d2-0324e1c32e22',
      '1 day 02:00:00',
    ]);
  });

  it('refuses an existing table that does not fit, naming the difference and how to fix it', async () => {
    const t = table('mismatch');
    await pgQuery(`CREATE TABLE "${t}" (id integer, label text, must text NOT NULL)`);
    const sink = await open('mm', { table: t });
    const err = await sink.addBatch(await batch(0, `SELECT 1::BIGINT AS id, 'x' AS name`)).catch((e: unknown) => e);
    await sink.close();
    expect(err).toBeInstanceOf(DuckstreamError);
    const e = err as DuckstreamError;
    expect(e.domain).toBe('user');
    expect(e.message).toContain(`column "id" is integer, but the query gives BIGINT (stored as bigint)`);
    expect(e.message).toContain(`has no column "name" (the query gives VARCHAR, stored as text)`);
    expect(e.message).toContain(`column "must" is NOT NULL without a default`);
    expect(e.fix).toContain(`ALTER TABLE "${t}" ADD COLUMN "name" text`);
    expect(psql(`SELECT count(*) FROM "${t}"`)).toEqual(['0']);

    const tu = table('nokey');
    await pgQuery(`CREATE TABLE "${tu}" (k text, n bigint)`);
    const up = await open('nk', { table: tu });
    const err2 = (await up
      .addBatch(await batch(0, `SELECT 'a' AS k, 1::BIGINT AS n`, { mode: 'update', keyColumns: ['k'] }))
      .catch((e: unknown) => e)) as DuckstreamError;
    await up.close();
    expect(err2.message).toContain(`has no unique index on exactly the key columns ("k")`);
    expect(err2.fix).toContain(`CREATE UNIQUE INDEX ON "${tu}" ("k")`);

    // A wider existing type takes the values: integer → bigint, text → varchar.
    const tw = table('wider');
    await pgQuery(`CREATE TABLE "${tw}" (id bigint, name varchar(20), extra text)`);
    const ok = await open('wide', { table: tw });
    await ok.addBatch(await batch(0, `SELECT 1::INTEGER AS id, 'x' AS name`));
    await ok.close();
    expect(rows(tw, 'id, name, extra IS NULL')).toEqual(['1|x|t']);
  });

  it('a killed backend, a cut connection mid-COPY, a server down for a while: retried on a new connection, each batch written once', async () => {
    const t = table('retry');
    const proxy = await startTcpProxy(5432);
    try {
      const url = `postgres://postgres@127.0.0.1:${proxy.port}/test`;
      const sink = await open('rt', { table: t, url, retry_backoff_ms: '50' });
      const of = (b: number, n: number) => `SELECT (${b} * 1000000 + i)::BIGINT AS id, repeat('x', 40) || i AS name FROM range(${n}) r(i)`;
      await sink.addBatch(await batch(0, of(0, 10)));
      // Killed while idle between batches: the next batch reconnects.
      await pgQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`duckstream ${job}/rt`]);
      await sink.addBatch(await batch(1, of(1, 10)));
      // Cut in the middle of a COPY of 300k rows.
      const big = await batch(2, of(2, 300_000));
      const writing = sink.addBatch(big);
      let copying = false;
      for (let i = 0; i < 400 && !copying; i++) {
        const active = await pgQuery(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'COPY%' AND state = 'active'`, [
          `duckstream ${job}/rt`,
        ]);
        copying = active.length > 0;
        if (!copying) await new Promise((r) => setTimeout(r, 5));
      }
      expect(copying, 'the COPY was seen running before the cut').toBe(true);
      const before = proxy.accepted;
      proxy.cut();
      await writing;
      expect(proxy.accepted).toBeGreaterThan(before); // it did reconnect
      // A server that is down for a while (connections refused), as during a restart: retried until it is back.
      const beforePause = proxy.accepted;
      proxy.pause();
      const resumed = new Promise<void>((r) => setTimeout(() => r(proxy.resume()), 800));
      await sink.addBatch(await batch(3, of(3, 10)));
      await resumed;
      expect(proxy.accepted).toBeGreaterThan(beforePause);
      await sink.close();
      const [stats] = await pgQuery<{ n: string; d: string; b2: string }>(
        `SELECT count(*) AS n, count(DISTINCT id) AS d, count(*) FILTER (WHERE id >= 2000000 AND id < 3000000) AS b2 FROM "${t}"`,
      );
      expect(stats).toEqual({ n: String(30 + 300_000), d: String(30 + 300_000), b2: '300000' });
    } finally {
      await proxy.close();
    }
  });

  it('never shows the password of the url (or of password_env) in errors', async () => {
    const proxy = await startTcpProxy(5432);
    proxy.pause(); // a server that is down
    const t = table('secret');
    try {
      const url = `postgres://postgres:Sup3rS3cret@127.0.0.1:${proxy.port}/test`;
      const err = (await open('sec', { table: t, url, retries: '1', retry_backoff_ms: '10' }).catch((e: unknown) => e)) as DuckstreamError;
      expect(err).toBeInstanceOf(DuckstreamError);
      expect(err.message).toContain(`postgres://postgres:***@127.0.0.1:${proxy.port}/test`);
      expect(err.message).not.toContain('Sup3rS3cret');

      process.env['DS_PG_TEST_PW'] = 'EnvS3cret';
      const viaEnv = (await open('sec2', {
        table: t,
        url: `postgres://postgres@127.0.0.1:${proxy.port}/test`,
        password_env: 'DS_PG_TEST_PW',
        retries: '0',
      }).catch((e: unknown) => e)) as DuckstreamError;
      expect(viaEnv.message).toContain(':***@');
      expect(viaEnv.message).not.toContain('EnvS3cret');
      delete process.env['DS_PG_TEST_PW'];

      // Refused options and a bad URL do not echo the value.
      for (const bad of ['mysql://u:Sup3rS3cret@h/db', 'postgres://u:Sup3rS3cret@[bad/db']) {
        const e = (() => {
          try {
            createSink('bad', { connector: 'postgres', url: bad, table: 't' }, { job });
          } catch (x) {
            return x as Error;
          }
          return undefined;
        })();
        expect(e?.message).toBeDefined();
        expect(e?.message).not.toContain('Sup3rS3cret');
      }
    } finally {
      await proxy.close();
    }
  });
});
