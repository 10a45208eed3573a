import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import fsExt from 'fs-ext';
import { ident, literal } from '../sql/engine.js';
import { DuckstreamError, errorMessage, externalError, userError } from '../errors.js';
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
 * One catalog is shared by every job whose Parquet lands in its folder, so a notebook opens one file: `_duckstream_catalog`
 * records which job (its name) owns which view, and a job replaces only its own views. A view name another job
 * owns is refused. Publications are serialised between processes by `flock(2)` on `.catalog.duckdb.lock`; each one
 * copies the current catalog to a temp file, edits it with a separate short-lived DuckDB instance, checkpoints,
 * closes, fsyncs and renames it over `path`: a reader always opens a whole catalog, old or new (one that has it open
 * keeps the old one). Views read the glob at query time, so they see batches written after publication without a
 * new catalog; publish again when the set of sinks or a sink's columns change (a view keeps the columns it was
 * created with).
 *
 * A view over a glob that matches nothing cannot be created (`read_parquet` fails with "No files found that match
 * the pattern", at CREATE VIEW time too, with or without union_by_name), so such a view is left out (`pending`) and
 * listed in `_duckstream_catalog` with `available = false`; it appears when the catalog is published after the
 * sink's first non-empty batch.
 */
export async function publishCatalog(path: string, views: readonly CatalogView[], job: string): Promise<PublishedCatalog> {
  const target = resolve(path);
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true });
  const lockFd = openSync(join(dir, `.${basename(target)}.lock`), 'a+');
  try {
    await lockExclusive(lockFd);
    // Holding the lock we are the only writer: temps left here are those of killed publishers.
    for (const f of readdirSync(dir)) if (f.startsWith(`.${basename(target)}.`) && /\.tmp(\.wal)?$/.test(f)) rmSync(join(dir, f), { force: true });
    const tmp = join(dir, `.${basename(target)}.${process.pid}.tmp`);
    try {
      if (existsSync(target)) copyFileSync(target, tmp);
      const result = await buildCatalog(tmp, views, job, target);
      if (existsSync(`${tmp}.wal`)) throw new Error(`DuckDB left a WAL next to ${tmp} after CHECKPOINT and close`);
      fsyncFile(tmp);
      renameSync(tmp, target);
      fsyncDir(dir);
      return result;
    } catch (err) {
      removeDatabaseFiles(tmp);
      if (err instanceof DuckstreamError && err.domain === 'user') throw err;
      throw externalError(`publishing the notebook catalog ${target} failed: ${errorMessage(err)}`, true, err);
    }
  } finally {
    closeSync(lockFd); // releases the flock
  }
}

function lockExclusive(fd: number): Promise<void> {
  return new Promise((ok, fail) => fsExt.flock(fd, 'ex', (err) => (err ? fail(err) : ok())));
}

interface OwnedView {
  name: string;
  job: string;
  latest: boolean;
}

async function buildCatalog(file: string, views: readonly CatalogView[], job: string, target: string): Promise<PublishedCatalog> {
  // Not fromCache: this instance is private to one publication and closed before the rename.
  const instance = await DuckDBInstance.create(file);
  try {
    const c = await instance.connect();
    try {
      const owned = await ownedViews(c);
      const mine = new Set(views.flatMap((v) => [v.name, ...(v.latestBy?.length ? [`${v.name}_latest`] : [])]));
      for (const other of owned.filter((o) => o.job !== job)) {
        const clash = [other.name, ...(other.latest ? [`${other.name}_latest`] : [])].find((n) => mine.has(n));
        if (clash !== undefined) {
          throw userError(
            `notebook catalog ${target}: view '${clash}' of job ${job} is already owned by job ${other.job}`,
            'rename the sink in one of the jobs, or write its Parquet into another folder (or delete the catalog file if that job is gone)',
          );
        }
      }
      for (const o of owned.filter((o) => o.job === job)) {
        await c.run(`DROP VIEW IF EXISTS ${ident(o.name)}`);
        await c.run(`DROP VIEW IF EXISTS ${ident(`${o.name}_latest`)}`);
      }
      await c.run(`DELETE FROM ${ident(CATALOG_TABLE)} WHERE job = $job`, { job });
      const created: string[] = [];
      const pending: string[] = [];
      for (const view of views) {
        const glob = resolve(view.parquetGlob);
        const matches = await c.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM glob(${literal(glob)})`);
        const available = Number(matches.getRowObjectsJS()[0]?.['n'] ?? 0) > 0;
        const latest = view.latestBy !== undefined && view.latestBy.length > 0;
        if (available) {
          await c.run(`CREATE VIEW ${ident(view.name)} AS SELECT * FROM read_parquet(${literal(glob)})`);
          created.push(view.name);
          if (latest) {
            const keys = view.latestBy!.map((k) => ident(k)).join(', ');
            await c.run(
              `CREATE VIEW ${ident(`${view.name}_latest`)} AS SELECT * EXCLUDE (__ds_version, filename) FROM (` +
                `SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY filename DESC) AS __ds_version FROM read_parquet(${literal(glob)}, filename = true)) WHERE __ds_version = 1`,
            );
            created.push(`${view.name}_latest`);
          }
        } else {
          pending.push(view.name);
        }
        await c.run(`INSERT INTO ${ident(CATALOG_TABLE)} VALUES ($name, $job, $glob, $available, $latest)`, { name: view.name, job, glob, available, latest });
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

/**
 * The ownership table, created if missing. A catalog from before views had owners (no `job` column) held one job's
 * views only: it is started over.
 */
async function ownedViews(c: DuckDBConnection): Promise<OwnedView[]> {
  const columns = (await c.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE table_name = ${literal(CATALOG_TABLE)}`))
    .getRowObjectsJS()
    .map((r) => String(r['column_name']));
  if (columns.length > 0 && !columns.includes('job')) {
    const old = (await c.runAndReadAll(`SELECT name FROM ${ident(CATALOG_TABLE)}`)).getRowObjectsJS().map((r) => String(r['name']));
    for (const name of old) {
      await c.run(`DROP VIEW IF EXISTS ${ident(name)}`);
      await c.run(`DROP VIEW IF EXISTS ${ident(`${name}_latest`)}`);
    }
    await c.run(`DROP TABLE ${ident(CATALOG_TABLE)}`);
  }
  await c.run(
    `CREATE TABLE IF NOT EXISTS ${ident(CATALOG_TABLE)} (name VARCHAR PRIMARY KEY, job VARCHAR NOT NULL, parquet_glob VARCHAR NOT NULL, available BOOLEAN NOT NULL, latest BOOLEAN NOT NULL)`,
  );
  return (await c.runAndReadAll(`SELECT name, job, latest FROM ${ident(CATALOG_TABLE)}`))
    .getRowObjectsJS()
    .map((r) => ({ name: String(r['name']), job: String(r['job']), latest: r['latest'] === true }));
}

function removeDatabaseFiles(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.wal`, { force: true });
}
