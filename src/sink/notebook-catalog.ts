import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ident, literal } from '../sql/engine.js';
import { errorMessage, externalError } from '../errors.js';
import { fsyncDir } from '../util/atomic-file.js';
import { fsyncFile } from './batch-files.js';

export interface CatalogView {
  /** The view's name in the catalog (usually the sink's name). */
  readonly name: string;
  /** Glob of the sink's data files, e.g. `out/errors/*.parquet` (made absolute against process.cwd()). */
  readonly parquetGlob: string;
  /**
   * For an update-mode sink (each batch appends the rows that changed): the key columns. A second view
   * `<name>_latest` then shows only the newest version of each key (files are named by batch id, so the
   * greatest file name is the newest).
   */
  readonly latestBy?: readonly string[];
}

export interface PublishedCatalog {
  /** Views created. */
  readonly views: readonly string[];
  /** Views left out because their glob matched no file yet. */
  readonly pending: readonly string[];
}

/** Table in the catalog listing every requested view, so a notebook can tell "not yet written" from "unknown". */
export const CATALOG_TABLE = '_duckstream_catalog';

/**
 * Publish a small DuckDB file of views over committed Parquet for notebooks (docs/architecture.md#sink-contract). A DuckDB file has one
 * writer process or many readers, so notebooks cannot open the driver's live database; they open this instead,
 * read-only: `duckdb.connect(path, read_only=True)`.
 *
 * Built in a temp file next to `path` by a separate short-lived DuckDB instance, checkpointed, closed, fsynced and
 * renamed over `path`: a reader always opens a whole catalog, old or new (one that has it open keeps the old one).
 * Views read the glob at query time, so they see batches written after publication without a new catalog; publish
 * again when the set of sinks or a sink's columns change (a view keeps the columns it was created with).
 *
 * A view over a glob that matches nothing cannot be created (`read_parquet` fails with "No files found that match
 * the pattern", at CREATE VIEW time too, with or without union_by_name), so such a view is left out (`pending`) and
 * listed in `_duckstream_catalog` with `available = false`; it appears when the catalog is published after the
 * sink's first non-empty batch.
 */
export async function publishCatalog(path: string, views: readonly CatalogView[]): Promise<PublishedCatalog> {
  const target = resolve(path);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.tmp`);
  mkdirSync(dir, { recursive: true });
  removeDatabaseFiles(tmp);
  try {
    const result = await buildCatalog(tmp, views);
    if (existsSync(`${tmp}.wal`)) throw new Error(`DuckDB left a WAL next to ${tmp} after CHECKPOINT and close`);
    fsyncFile(tmp);
    renameSync(tmp, target);
    fsyncDir(dir);
    return result;
  } catch (err) {
    removeDatabaseFiles(tmp);
    throw externalError(`publishing the notebook catalog ${target} failed: ${errorMessage(err)}`, true, err);
  }
}

async function buildCatalog(file: string, views: readonly CatalogView[]): Promise<PublishedCatalog> {
  // Not fromCache: this instance is private to one publication and closed before the rename.
  const instance = await DuckDBInstance.create(file);
  try {
    const c = await instance.connect();
    try {
      await c.run(`CREATE TABLE ${ident(CATALOG_TABLE)} (name VARCHAR PRIMARY KEY, parquet_glob VARCHAR NOT NULL, available BOOLEAN NOT NULL)`);
      const created: string[] = [];
      const pending: string[] = [];
      for (const view of views) {
        const glob = resolve(view.parquetGlob);
        const matches = await c.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM glob(${literal(glob)})`);
        const available = Number(matches.getRowObjectsJS()[0]?.['n'] ?? 0) > 0;
        if (available) {
          await c.run(`CREATE VIEW ${ident(view.name)} AS SELECT * FROM read_parquet(${literal(glob)})`);
          created.push(view.name);
          if (view.latestBy && view.latestBy.length > 0) {
            const keys = view.latestBy.map((k) => ident(k)).join(', ');
            await c.run(
              `CREATE VIEW ${ident(`${view.name}_latest`)} AS SELECT * EXCLUDE (__ds_version, filename) FROM (` +
                `SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY filename DESC) AS __ds_version FROM read_parquet(${literal(glob)}, filename = true)) WHERE __ds_version = 1`,
            );
            created.push(`${view.name}_latest`);
          }
        } else {
          pending.push(view.name);
        }
        await c.run(`INSERT INTO ${ident(CATALOG_TABLE)} VALUES ($name, $glob, $available)`, { name: view.name, glob, available });
      }
      await c.run('CHECKPOINT');
      return { views: created, pending };
    } finally {
      c.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

function removeDatabaseFiles(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.wal`, { force: true });
}
