import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { Mutex } from '../util/mutex.js';

export type Row = Record<string, unknown>;

/**
 * One DuckDB instance and one connection per driver (docs/architecture.md#arrow-and-duckdb), every use serialised by a mutex.
 * `path` undefined or ':memory:' gives an in-memory database.
 */
export class Engine {
  private readonly mutex = new Mutex();
  private closed = false;

  private constructor(
    readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(path = ':memory:', options: Record<string, string> = {}): Promise<Engine> {
    // fromCache: two instances on one file in one process silently lose each other's commits (docs/architecture.md#known-hazards).
    const instance = path === ':memory:' ? await DuckDBInstance.create(path, options) : await DuckDBInstance.fromCache(path, options);
    const connection = await instance.connect();
    return new Engine(instance, connection);
  }

  /** Run statements for their effect. */
  run(sql: string, params?: DuckDBValue[] | Record<string, DuckDBValue>): Promise<void> {
    return this.exclusive(async (c) => {
      await c.run(sql, params);
    });
  }

  /** Run a query and return its rows as plain JS objects (BIGINT as bigint, TIMESTAMP as Date-like values). */
  all(sql: string, params?: DuckDBValue[] | Record<string, DuckDBValue>): Promise<Row[]> {
    return this.exclusive(async (c) => {
      const reader = await c.runAndReadAll(sql, params);
      return reader.getRowObjectsJS() as Row[];
    });
  }

  /** Rows as JSON-compatible objects (BIGINT and TIMESTAMP as strings): for printing and JSON outputs. */
  allJson(sql: string, params?: DuckDBValue[] | Record<string, DuckDBValue>): Promise<Row[]> {
    return this.exclusive(async (c) => {
      const reader = await c.runAndReadAll(sql, params);
      return reader.getRowObjectsJson() as Row[];
    });
  }

  /** Exclusive use of the connection for a sequence of calls (transactions, appenders). */
  exclusive<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('engine is closed'));
    return this.mutex.lock(() => fn(this.connection));
  }

  /** BEGIN … COMMIT around fn, ROLLBACK if it throws. */
  transaction<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.exclusive(async (c) => {
      await c.run('BEGIN TRANSACTION');
      try {
        const result = await fn(c);
        await c.run('COMMIT');
        return result;
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Identifier and string-literal quoting: DuckDB's own (`"a""b"`, `'it''s'`), under the names the code uses. */
export { quotedIdentifier as ident, quotedString as literal } from '@duckdb/node-api';
