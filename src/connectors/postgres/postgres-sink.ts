import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DuckstreamError, errorMessage, externalError, internalError, userError } from '../../errors.js';
import type { Sink, SinkBatch } from '../../sink/sink.js';
import { ident, literal, type Engine } from '../../sql/engine.js';
import { withRetry, type RetryOptions } from '../../util/retry.js';
import type { PgTarget } from './pg-connection.js';
import { quoteIdent, type PgTableName } from './pg-table.js';
import { compatible, mapColumns, type PgColumn } from './pg-types.js';

/** Table (in the target table's schema) recording, per job and sink, the last batch id whose rows are in its table. */
export const PG_SINK_COMMITS_TABLE = 'duckstream_sink_commits';

/**
 * Rows per CSV slice: PostgreSQL copies one slice while DuckDB writes the next (bench/postgres.ts). The first slice
 * is small (the COPY waits for it), the next ones double up to the largest.
 */
const FIRST_SLICE_ROWS = 4_096;
const MAX_SLICE_ROWS = 65_536;

/** [from, until) rowid bounds of the slices of a batch of n rows. */
export function sliceBounds(n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let from = 0, size = FIRST_SLICE_ROWS; from < n; from += size, size = Math.min(size * 2, MAX_SLICE_ROWS)) out.push([from, Math.min(n, from + size)]);
  return out;
}

export interface PostgresSinkConfig {
  readonly target: PgTarget;
  readonly table: PgTableName;
  /** The job's name: with the sink's name, the key of its row in duckstream_sink_commits. */
  readonly job: string;
  readonly retry: RetryOptions;
  readonly connectTimeoutMs: number;
}

/** The batch's columns as the sink writes them, with the SQL that goes with them (one per query shape). */
interface Layout {
  readonly signature: string;
  readonly columns: readonly PgColumn[];
  /** `"a", "b"`: the COPY / INSERT column list. */
  readonly columnList: string;
}

/**
 * Writes each batch into a PostgreSQL table, exactly once by batch id (docs/connectors/postgres.md,
 * docs/architecture.md#sink-contract). Per batch, DuckDB writes the rows as CSV into a temp file (its own writer, in
 * C++; LISTs as PostgreSQL array literals, STRUCT/MAP/JSON as JSON text), and then ONE PostgreSQL transaction:
 *   last := batch_id of (job, sink) in duckstream_sink_commits, row locked
 *   if last ≥ batchId: nothing (a replay of a batch already in the table)
 *   else: append: COPY the rows in · update: COPY into a temp table, INSERT … ON CONFLICT (keys) DO UPDATE ·
 *         complete: DELETE every row, COPY the rows in; then batch_id := batchId
 * so the rows and the batch id are committed together or not at all. Any connection error (a server restart,
 * a killed backend, a cut network, even during COMMIT) is retried on a new connection: the new transaction finds
 * out from batch_id whether the old one committed.
 */
export class PostgresSink implements Sink {
  private client: pg.Client | undefined;
  private tmp: string | undefined;
  private layout: Layout | undefined;
  /** The table was checked (or created) for this layout and mode, in a transaction that committed. */
  private prepared: string | undefined;
  private serverVersion = 0;

  constructor(
    readonly name: string,
    private readonly config: PostgresSinkConfig,
  ) {}

  private get where(): string {
    return `sink '${this.name}': postgres ${this.config.target.masked} table ${this.config.table.sql}`;
  }

  private get commits(): string {
    const s = this.config.table.schema;
    return s === undefined ? quoteIdent(PG_SINK_COMMITS_TABLE) : `${quoteIdent(s)}.${quoteIdent(PG_SINK_COMMITS_TABLE)}`;
  }

  async open(_engine: Engine): Promise<void> {
    this.tmp = await mkdtemp(join(tmpdir(), 'duckstream-pg-'));
    await this.retrying('connect', async () => {
      const c = await this.connect();
      try {
        await c.query(
          `CREATE TABLE IF NOT EXISTS ${this.commits} (job text NOT NULL, sink text NOT NULL, batch_id bigint NOT NULL, ` +
            `table_name text NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, sink))`,
        );
      } catch (err) {
        // Two jobs creating it at once: one of them loses the race on the catalog's unique index; the table exists.
        if (!['23505', '42P07'].includes(sqlState(err) ?? '')) throw err;
      }
    });
  }

  async addBatch(batch: SinkBatch): Promise<void> {
    const mode = batch.mode ?? 'append';
    const keys = batch.keyColumns ?? [];
    if (mode === 'update' && keys.length === 0) {
      throw userError(
        `${this.where}: output_mode 'update' needs key columns to upsert on`,
        "GROUP BY the key columns, or give key = 'col[, col…]' in the sink's WITH (…)",
      );
    }
    const layout = await this.layoutOf(batch.engine, batch.relation);
    for (const k of keys) {
      if (!layout.columns.some((c) => c.name === k))
        throw userError(`${this.where}: key column '${k}' is not a column of the query`, 'name output columns in key');
    }
    // DuckDB exports slice after slice while PostgreSQL copies the ones done (one attempt's export, kept for retries).
    const slices = batch.numRows > 0 ? this.startExport(batch, layout) : [];
    try {
      await this.retrying(`write batch ${batch.batchId}`, () => this.writeBatch(batch.batchId, mode, keys, layout, slices));
    } finally {
      const files = await Promise.allSettled(slices);
      await Promise.all(files.map((f) => (f.status === 'fulfilled' ? rm(f.value, { force: true }) : undefined)));
    }
  }

  async lastBatchId(): Promise<number | undefined> {
    return this.retrying('read its last batch id', async () => {
      const c = await this.connect();
      const r = await c.query<{ batch_id: string }>(`SELECT batch_id FROM ${this.commits} WHERE job = $1 AND sink = $2`, [this.config.job, this.name]);
      const last = r.rows[0]?.batch_id;
      return last === undefined ? undefined : Number(last);
    });
  }

  async close(): Promise<void> {
    await this.dropClient();
    if (this.tmp !== undefined) await rm(this.tmp, { recursive: true, force: true });
    this.tmp = undefined;
  }

  /* ------------------------------------------------------------------ batch */

  private async writeBatch(
    batchId: number,
    mode: 'append' | 'update' | 'complete',
    keys: readonly string[],
    layout: Layout,
    slices: readonly Promise<string>[],
  ): Promise<void> {
    const c = await this.connect();
    const table = this.config.table.sql;
    await c.query('BEGIN');
    try {
      const r = await c.query<{ batch_id: string }>(`SELECT batch_id FROM ${this.commits} WHERE job = $1 AND sink = $2 FOR UPDATE`, [
        this.config.job,
        this.name,
      ]);
      const last = r.rows[0]?.batch_id;
      if (last !== undefined && Number(last) >= batchId) {
        await c.query('ROLLBACK');
        return; // already in the table: a replay after a crash between this commit and the checkpoint's
      }
      const preparedFor = `${layout.signature}|${mode}|${keys.join(',')}`;
      if (this.prepared !== preparedFor) await this.prepareTable(c, layout, mode, keys);
      if (mode === 'complete') await c.query(`DELETE FROM ${table}`);
      if (mode === 'update') {
        if (slices.length > 0) {
          await c.query(`CREATE TEMP TABLE __ds_stage ON COMMIT DROP AS SELECT ${layout.columnList} FROM ${table} WITH NO DATA`);
          await this.copyIn(c, `__ds_stage (${layout.columnList})`, slices);
          const conflict = keys.map(quoteIdent).join(', ');
          const others = layout.columns.filter((col) => !keys.includes(col.name));
          const action =
            others.length === 0
              ? 'DO NOTHING'
              : `DO UPDATE SET ${others.map((col) => `${quoteIdent(col.name)} = EXCLUDED.${quoteIdent(col.name)}`).join(', ')}`;
          await c.query(`INSERT INTO ${table} (${layout.columnList}) SELECT ${layout.columnList} FROM __ds_stage ON CONFLICT (${conflict}) ${action}`);
        }
      } else if (slices.length > 0) {
        await this.copyIn(c, `${table} (${layout.columnList})`, slices);
      }
      await c.query(
        `INSERT INTO ${this.commits} (job, sink, batch_id, table_name) VALUES ($1, $2, $3, $4) ` +
          `ON CONFLICT (job, sink) DO UPDATE SET batch_id = EXCLUDED.batch_id, table_name = EXCLUDED.table_name, committed_at = now()`,
        [this.config.job, this.name, batchId, table],
      );
      await c.query('COMMIT');
      this.prepared = preparedFor;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** One COPY fed with the slices' CSV files in order, each as soon as DuckDB has written it. */
  private async copyIn(c: pg.Client, target: string, slices: readonly Promise<string>[]): Promise<void> {
    const stream = c.query(copyFrom(`COPY ${target} FROM STDIN (FORMAT csv)`));
    let streamFailed = false;
    const failed = new Promise<never>((_, reject) =>
      stream.once('error', (err) => {
        streamFailed = true;
        reject(err);
      }),
    );
    failed.catch(() => undefined);
    const feed = async (): Promise<void> => {
      for (const slice of slices) {
        for await (const chunk of createReadStream(await slice, { highWaterMark: 1 << 20 })) {
          if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), failed]);
        }
      }
      stream.end();
      await finished(stream);
    };
    try {
      await Promise.race([feed(), failed]);
    } catch (err) {
      // The export failed: a COPY destroyed before its end is failed on the server (CopyFail), the transaction rolls
      // back. (A stream that failed itself, e.g. on a lost connection, has nothing left to tell the server.)
      if (!streamFailed) {
        try {
          stream.destroy();
        } catch {
          // the connection is gone as well: the retry starts on a new one
        }
      }
      throw err;
    }
  }

  /**
   * The batch's rows as PostgreSQL's CSV in files of growing size (sliceBounds, by rowid: the batch is a table), written one
   * after the other; text-like fields always quoted (a bare `\.` would end the COPY data). The slices' row counts
   * must add up to the batch's: a relation whose rowids were not 0…n-1 would otherwise lose rows silently.
   */
  private startExport(batch: SinkBatch, layout: Layout): Promise<string>[] {
    const select = layout.columns.map((c) => `${c.exportSql} AS ${ident(c.name)}`).join(', ');
    const quoted = layout.columns.filter((c) => c.quote).map((c) => ident(c.name));
    const options = `FORMAT csv, HEADER false${quoted.length > 0 ? `, FORCE_QUOTE (${quoted.join(', ')})` : ''}`;
    const bounds = sliceBounds(batch.numRows);
    const count = bounds.length;
    const slices: Promise<string>[] = [];
    let previous: Promise<unknown> = Promise.resolve();
    let rows = 0;
    for (const [i, [from, until]] of bounds.entries()) {
      const file = join(this.requireTmp(), `batch-${batch.batchId}-${i}.csv`);
      // The first and last slices are open-ended, so every row is in one slice whatever the rowids (counted below).
      const lo = i === 0 ? undefined : `rowid >= ${from}`;
      const hi = i === count - 1 ? undefined : `rowid < ${until}`;
      const where = lo || hi ? ` WHERE ${[lo, hi].filter((x) => x !== undefined).join(' AND ')}` : '';
      const slice = previous.then(async () => {
        const [result] = await batch.engine.all(`COPY (SELECT ${select} FROM ${batch.relation}${where}) TO ${literal(file)} (${options})`);
        rows += Number(result?.['Count'] ?? 0);
        if (i === count - 1 && rows !== batch.numRows) {
          throw internalError(`sink '${this.name}': batch ${batch.batchId} exported ${rows} rows of ${batch.numRows} (its relation's rowids are not 0…n-1)`);
        }
        return file;
      });
      slice.catch(() => undefined); // awaited by the COPY; a rejection is reported there
      slices.push(slice);
      previous = slice;
    }
    return slices;
  }

  private async layoutOf(engine: Engine, relation: string): Promise<Layout> {
    const rows = await engine.all(`DESCRIBE SELECT * FROM ${relation}`);
    const described = rows.map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
    const signature = described.map((d) => `${d.name}:${d.type}`).join(',');
    if (this.layout?.signature === signature) return this.layout;
    const { columns, unsupported } = mapColumns(described);
    if (unsupported.length > 0) {
      throw userError(
        `${this.where}: the query gives columns PostgreSQL cannot store as they are: ${unsupported.join(', ')}`,
        'CAST them in the query (e.g. to VARCHAR or a JSON value)',
      );
    }
    this.layout = { signature, columns, columnList: columns.map((c) => quoteIdent(c.name)).join(', ') };
    return this.layout;
  }

  /**
   * A missing table is created with the batch's columns (and, in update mode, a unique constraint on the keys); an
   * existing one must hold every column with a type that takes its values, every other column of it must be
   * nullable or have a default, and update mode needs a unique index on exactly the keys.
   */
  private async prepareTable(c: pg.Client, layout: Layout, mode: string, keys: readonly string[]): Promise<void> {
    const table = this.config.table.sql;
    const found = await c.query<{ oid: string | null }>(`SELECT to_regclass($1)::oid AS oid`, [table]);
    const oid = found.rows[0]?.oid;
    if (oid === null || oid === undefined) {
      const cols = layout.columns.map((col) => `${quoteIdent(col.name)} ${col.pgType}`);
      if (mode === 'update') cols.push(`UNIQUE ${this.serverVersion >= 150000 ? 'NULLS NOT DISTINCT ' : ''}(${keys.map(quoteIdent).join(', ')})`);
      await c.query(`CREATE TABLE ${table} (${cols.join(', ')})`);
      return;
    }
    const attrs = await c.query<{ name: string; type: string; notnull: boolean; hasdefault: boolean }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS notnull, atthasdef AS hasdefault
         FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [oid],
    );
    const have = new Map(attrs.rows.map((a) => [a.name, a]));
    const problems: string[] = [];
    const fixes: string[] = [];
    for (const col of layout.columns) {
      const a = have.get(col.name);
      if (a === undefined) {
        problems.push(`has no column ${quoteIdent(col.name)} (the query gives ${col.duckType}, stored as ${col.pgType})`);
        fixes.push(`ALTER TABLE ${table} ADD COLUMN ${quoteIdent(col.name)} ${col.pgType}`);
      } else if (!compatible(col.pgType, a.type)) {
        problems.push(`column ${quoteIdent(col.name)} is ${a.type}, but the query gives ${col.duckType} (stored as ${col.pgType})`);
        fixes.push(
          `CAST ${quoteIdent(col.name)} in the query to the table's type, or ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(col.name)} TYPE ${col.pgType}`,
        );
      }
    }
    const given = new Set(layout.columns.map((col) => col.name));
    for (const a of attrs.rows) {
      if (!given.has(a.name) && a.notnull && !a.hasdefault) {
        problems.push(`column ${quoteIdent(a.name)} is NOT NULL without a default, and the query does not give it`);
        fixes.push(`add ${quoteIdent(a.name)} to the query's columns, or give it a default`);
      }
    }
    if (mode === 'update' && problems.length === 0) {
      const unique = await c.query<{ cols: string[] }>(
        `SELECT array(SELECT attname FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))::text[] AS cols
           FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL`,
        [oid],
      );
      const want = [...keys].sort().join('\u0000');
      if (!unique.rows.some((u) => [...u.cols].sort().join('\u0000') === want)) {
        problems.push(`has no unique index on exactly the key columns (${keys.map(quoteIdent).join(', ')}) that output_mode 'update' upserts on`);
        fixes.push(`CREATE UNIQUE INDEX ON ${table} (${keys.map(quoteIdent).join(', ')})`);
      }
    }
    if (problems.length > 0) {
      throw userError(
        `${this.where} does not fit the query: it ${problems.join('; it ')}`,
        `${fixes.join('; ')} — or write to a new table (it is created to fit)`,
      );
    }
  }

  /* ------------------------------------------------------------- connection */

  private async connect(): Promise<pg.Client> {
    if (this.client !== undefined) return this.client;
    const client = new pg.Client({
      connectionString: this.config.target.connectionString,
      connectionTimeoutMillis: this.config.connectTimeoutMs,
      keepAlive: true,
      application_name: `duckstream ${this.config.job}/${this.name}`.slice(0, 63),
    });
    // A backend killed or a server gone while the client is idle: an 'error' event, not a rejected query. The next
    // use connects again.
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.serverVersion === 0) {
      const v = await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
      this.serverVersion = Number(v.rows[0]?.v ?? 0);
    }
    this.client = client;
    return client;
  }

  private async dropClient(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, {
        ...this.config.retry,
        isRetriable: (err) => (err instanceof DuckstreamError ? err.retriable : isRetriablePgError(err)),
        // Whatever failed, the connection's state is unknown (inside a transaction, mid-COPY): start on a new one.
        onRetry: () => this.dropClient(),
      });
    } catch (err) {
      await this.dropClient();
      throw this.toError(what, err);
    }
  }

  /** Every error leaves the sink as a DuckstreamError whose text went through scrub (no password in it). */
  private toError(what: string, err: unknown): DuckstreamError {
    const scrub = this.config.target.scrub;
    if (err instanceof DuckstreamError) {
      return scrub(err.message) === err.message ? err : new DuckstreamError(scrub(err.message), { domain: err.domain, retriable: err.retriable });
    }
    const state = sqlState(err);
    const message = `${this.where}: ${what} failed: ${scrub(pgErrorText(err))}`;
    if (state === '28P01' || state === '28000') return userError(message, 'check the user and password (url, or password_env)');
    if (state === '3D000') return userError(message, 'create the database, or fix the database name in url');
    if (state === '42501') return userError(message, `GRANT the user the rights to create and write ${this.config.table.sql} and ${this.commits}`);
    if (state !== undefined && /^(22|23|42)/.test(state)) {
      return userError(message, `make the query's rows fit ${this.config.table.sql} (types, constraints), or write to a new table`);
    }
    return externalError(isRetriablePgError(err) ? `${message} (gave up after ${this.config.retry.retries ?? 5} retries)` : message, false);
  }

  private requireTmp(): string {
    if (this.tmp === undefined) throw internalError(`sink '${this.name}' used before open()`);
    return this.tmp;
  }
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

const RETRIABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53400', '40001', '40P01', '55P03', '58000', '58030']);
const RETRIABLE_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/** A lost or refused connection, a server shutting down or starting, a serialization failure or deadlock: worth another try. */
export function isRetriablePgError(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || RETRIABLE_STATES.has(state);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && RETRIABLE_NODE_CODES.has(code)) return true;
  return /connection terminated|connection error|not queryable|timeout expired|connection ended|socket hang up|server closed the connection/i.test(
    errorMessage(err),
  );
}

function pgErrorText(err: unknown): string {
  const e = err as { code?: unknown; detail?: unknown; hint?: unknown } | null;
  let text = errorMessage(err);
  if (typeof e?.code === 'string') text += ` (${e.code})`;
  if (typeof e?.detail === 'string') text += `; ${e.detail}`;
  if (typeof e?.hint === 'string') text += `; hint: ${e.hint}`;
  return text;
}
