import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { literal, type Engine } from '../sql/engine.js';
import { externalError, errorMessage } from '../errors.js';
import { fsyncDir, fsyncPath, tempPathFor, writeFileDurable } from '../util/atomic-file.js';
import { padBatchId } from './batch-files.js';
import { filesUnder } from './partitioned-files.js';
import type { Sink, SinkBatch, SinkQueryBatch } from './sink.js';

/** What `<path>/_manifest/<batchId>.json` holds: the batch is whole in the table directory. */
export interface ManifestEntry {
  readonly version: 1;
  readonly sink: string;
  readonly batch_id: number;
  /** Batch time, ISO 8601. */
  readonly batch_time: string;
  readonly num_rows: number;
  /** Data files of this batch, relative to the table directory (empty for an empty batch). */
  readonly files: readonly string[];
}

/**
 * A table directory of one file per batch, written by DuckDB `COPY` (docs/architecture.md#sink-contract):
 *
 * ```
 * <parent>/.<table>.staging/part-<batchId>.<ext>   COPY writes here (outside the table, same filesystem), fsync
 * <parent>/<table>/part-<batchId>.<ext>            then rename(2) into the table directory
 * <parent>/<table>/_manifest/<batchId>.json        then the manifest entry (temp + rename); both directories fsynced
 * ```
 *
 * A reader globbing `<table>/*.<ext>` (or `<table>/**\/*.<ext>`: the manifest is JSON) only ever sees whole files, and
 * every file is a whole batch. A replay of batch N writes the same name again and the rename replaces the old file
 * atomically, so the output is as if N had been written once (same ranges ⇒ same rows, docs/architecture.md#the-batch-protocol). A crash leaves at
 * most a stray file in the staging directory, which readers never see and `open` deletes.
 */
export abstract class StagedFileSink implements Sink {
  /** The table directory's files end with this (without the dot). */
  protected abstract readonly extension: string;
  /** Whether a COPY into staging may have left its file there (an attempt that did not publish). */
  private mayHoldLeftover = false;

  constructor(
    readonly name: string,
    /** Absolute path of the table directory. */
    readonly path: string,
    /**
     * Hive-style partition columns (`partition_by = 'dt, hm'`): a batch's rows go to `<k>=<v>/…/part-<batch>_<i>.<ext>`
     * (DuckDB's `COPY … PARTITION_BY`), and the values live in the directory names, not in the files.
     */
    readonly partitionBy: readonly string[] = [],
  ) {}

  /** Where COPY writes before the rename: a hidden sibling of the table directory. */
  get stagingDir(): string {
    return join(dirname(this.path), `.${basename(this.path)}.staging`);
  }

  get manifestDir(): string {
    return join(this.path, '_manifest');
  }

  /** A glob matching exactly the data files (what a notebook view should read). */
  get glob(): string {
    return this.partitionBy.length > 0 ? join(this.path, ...this.partitionBy.map(() => '*'), `*.${this.extension}`) : join(this.path, `*.${this.extension}`);
  }

  dataFileName(batchId: number): string {
    return `part-${padBatchId(batchId)}.${this.extension}`;
  }

  manifestPath(batchId: number): string {
    return join(this.manifestDir, `${padBatchId(batchId)}.json`);
  }

  /** The COPY options after `TO '<file>'`, e.g. `FORMAT PARQUET, COMPRESSION ZSTD`. */
  protected abstract copyOptions(): string;

  async open(engine: Engine): Promise<void> {
    for (const dir of [this.path, this.manifestDir, this.stagingDir]) mkdirSync(dir, { recursive: true });
    // Leftovers of a batch interrupted between COPY and rename: never visible to readers; the replay rewrites them.
    for (const stray of readdirSync(this.stagingDir)) rmSync(join(this.stagingDir, stray), { recursive: true, force: true });
    fsyncDir(dirname(this.path));
    await this.prepare(engine);
  }

  /** Connector-specific set-up after the directories exist. */
  protected async prepare(_engine: Engine): Promise<void> {}

  /** In complete mode the whole result replaces the previous one: one file, renamed over the last. */
  completeFileName(): string {
    return `result.${this.extension}`;
  }

  async addBatch(batch: SinkBatch): Promise<void> {
    if (batch.mode === 'complete') return this.replaceResult(batch);
    if (this.partitionBy.length > 0) {
      await this.addPartitionedBatch(batch, `(SELECT * FROM ${batch.relation})`);
      return;
    }
    const file = this.dataFileName(batch.batchId);
    const target = join(this.path, file);
    try {
      let staged: string | undefined;
      if (batch.numRows > 0) {
        staged = join(this.stagingDir, file);
        await this.copyTo(batch.engine, `(SELECT * FROM ${batch.relation})`, staged);
      } else if (existsSync(target)) {
        // Cannot happen on an exact replay; keeps "as if written once" if it somehow does.
        rmSync(target);
      }
      await this.publish(batch, staged !== undefined ? [{ staged, file }] : []);
      this.mayHoldLeftover = false;
    } catch (err) {
      throw externalError(`sink '${this.name}': writing batch ${batch.batchId} to ${target} failed: ${errorMessage(err)}`, true, err);
    }
  }

  async addQuery(batch: SinkQueryBatch): Promise<number> {
    if (this.partitionBy.length > 0) return this.addPartitionedBatch(batch, `(${batch.query})`);
    const file = this.dataFileName(batch.batchId);
    const target = join(this.path, file);
    try {
      const staged = join(this.stagingDir, file);
      const numRows = await this.copyTo(batch.engine, `(${batch.query})`, staged);
      if (numRows === 0) {
        // An empty batch has no data file (as in addBatch), only its manifest entry.
        unlinkSync(staged);
        if (existsSync(target)) rmSync(target);
      }
      await this.publish({ ...batch, numRows }, numRows > 0 ? [{ staged, file }] : []);
      this.mayHoldLeftover = false;
      return numRows;
    } catch (err) {
      throw externalError(`sink '${this.name}': writing batch ${batch.batchId} to ${target} failed: ${errorMessage(err)}`, true, err);
    }
  }

  /**
   * Complete mode: the batch's rows are the whole result. Written like any batch, then renamed over
   * `result.<ext>`, so a reader sees the previous result or the new one, never a mix (an empty result is an
   * empty file, so the table keeps its columns).
   */
  private async replaceResult(batch: SinkBatch): Promise<void> {
    const file = this.completeFileName();
    const target = join(this.path, file);
    try {
      const staged = join(this.stagingDir, `${padBatchId(batch.batchId)}-${file}`);
      await this.copyTo(batch.engine, `(SELECT * FROM ${batch.relation})`, staged);
      await this.publish(batch, [{ staged, file }]);
      this.mayHoldLeftover = false;
    } catch (err) {
      throw externalError(`sink '${this.name}': writing the complete result of batch ${batch.batchId} to ${target} failed: ${errorMessage(err)}`, true, err);
    }
  }

  /**
   * A partitioned batch: COPY … PARTITION_BY writes a directory tree under staging, whose files are then renamed to
   * the same relative places in the table. Names carry the batch id, so a replay renames over the same files (same
   * ranges ⇒ same rows ⇒ same partitions); the manifest lists them.
   */
  private async addPartitionedBatch(batch: Pick<SinkBatch, 'batchId' | 'batchTime' | 'fsync' | 'engine'>, source: string): Promise<number> {
    const staged = join(this.stagingDir, `part-${padBatchId(batch.batchId)}`);
    try {
      rmSync(staged, { recursive: true, force: true });
      const columns = this.partitionBy.map((c) => `"${c.replaceAll('"', '""')}"`).join(', ');
      const result = await batch.engine.exclusive((c) =>
        c.run(
          `COPY ${source} TO ${literal(staged)} (${this.copyOptions()}, PARTITION_BY (${columns}), FILENAME_PATTERN 'part-${padBatchId(batch.batchId)}_{i}')`,
        ),
      );
      const numRows = Number(result.rowsChanged);
      const files = numRows > 0 ? filesUnder(staged) : [];
      await this.publish(
        { ...batch, numRows },
        files.map((file) => ({ staged: join(staged, file), file })),
      );
      rmSync(staged, { recursive: true, force: true });
      return numRows;
    } catch (err) {
      throw externalError(
        `sink '${this.name}': writing batch ${batch.batchId} partitioned by ${this.partitionBy.join(', ')} to ${this.path} failed: ${errorMessage(err)}`,
        true,
        err,
      );
    }
  }

  /** COPY `source` (a parenthesised query) to `staged`; the number of rows written. */
  private async copyTo(engine: Engine, source: string, staged: string): Promise<number> {
    // A leftover can only be this process's own failed attempt (open() cleared older ones): a syscall per batch
    // saved on the path where every attempt so far went through.
    if (this.mayHoldLeftover) {
      try {
        unlinkSync(staged);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.mayHoldLeftover = true; // until the staged file is renamed away or deleted
    const result = await engine.exclusive((c) => c.run(`COPY ${source} TO ${literal(staged)} (${this.copyOptions()})`));
    return Number(result.rowsChanged);
  }

  /**
   * Make the batch visible: the staged data files (none, one, or one per partition) renamed into the table, then
   * the manifest entry. Durable, with fsync, in two rounds of parallel fsyncs instead of four in a row: (data
   * files, manifest temp), renames, (table and new partition directories, manifest directory). Until the second
   * round ends a power cut may keep either rename without the other; the batch is not committed yet then, and its
   * replay writes both again.
   */
  private async publish(
    batch: Pick<SinkBatch, 'batchId' | 'batchTime' | 'numRows' | 'fsync'>,
    moves: readonly { staged: string; file: string }[],
  ): Promise<void> {
    const sync = batch.fsync ?? true;
    const entry: ManifestEntry = {
      version: 1,
      sink: this.name,
      batch_id: batch.batchId,
      batch_time: new Date(batch.batchTime).toISOString(),
      num_rows: batch.numRows,
      files: moves.map((m) => m.file),
    };
    const manifest = this.manifestPath(batch.batchId);
    const manifestTmp = tempPathFor(manifest);
    const text = `${JSON.stringify(entry)}\n`;
    // Without fsync there is nothing to overlap: a plain write spares three thread-pool round trips per batch.
    if (sync) await Promise.all([...moves.map((m) => fsyncPath(m.staged)), writeFileDurable(manifestTmp, text, true)]);
    else writeFileSync(manifestTmp, text);
    // Data first: a reader that finds the manifest entry finds the files.
    const dirs = new Set([this.path, this.manifestDir]);
    for (const { staged, file } of moves) {
      const target = join(this.path, file);
      const dir = dirname(target);
      if (dir !== this.path) {
        // A new partition directory is durable once every directory up to the table one is synced.
        mkdirSync(dir, { recursive: true });
        for (let d = dir; d.length > this.path.length; d = dirname(d)) dirs.add(d);
      }
      renameSync(staged, target);
    }
    renameSync(manifestTmp, manifest);
    if (sync) await Promise.all([...dirs].map((d) => fsyncPath(d)));
  }

  async close(): Promise<void> {}
}
