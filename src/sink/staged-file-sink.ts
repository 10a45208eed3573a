import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { literal, type Engine } from '../sql/engine.js';
import { externalError, errorMessage } from '../errors.js';
import { fsyncDir, writeFileAtomic } from '../util/atomic-file.js';
import { fsyncFile, padBatchId } from './batch-files.js';
import { movePartitionedFiles } from './partitioned-files.js';
import type { Sink, SinkBatch } from './sink.js';

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
 * A table directory of one file per batch, written by DuckDB `COPY` (DESIGN §7):
 *
 * ```
 * <parent>/.<table>.staging/part-<batchId>.<ext>   COPY writes here (outside the table, same filesystem), fsync
 * <parent>/<table>/part-<batchId>.<ext>            then rename(2) into the table directory, fsync the directory
 * <parent>/<table>/_manifest/<batchId>.json        then the manifest entry (temp + fsync + rename)
 * ```
 *
 * A reader globbing `<table>/*.<ext>` (or `<table>/**\/*.<ext>`: the manifest is JSON) only ever sees whole files, and
 * every file is a whole batch. A replay of batch N writes the same name again and the rename replaces the old file
 * atomically, so the output is as if N had been written once (same ranges ⇒ same rows, DESIGN §2). A crash leaves at
 * most a stray file in the staging directory, which readers never see and `open` deletes.
 */
export abstract class StagedFileSink implements Sink {
  /** The table directory's files end with this (without the dot). */
  protected abstract readonly extension: string;

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
    if (this.partitionBy.length > 0) return this.addPartitionedBatch(batch);
    const file = this.dataFileName(batch.batchId);
    const target = join(this.path, file);
    try {
      if (batch.numRows > 0) {
        const staged = join(this.stagingDir, file);
        rmSync(staged, { force: true });
        await batch.engine.run(`COPY (SELECT * FROM ${batch.relation}) TO ${literal(staged)} (${this.copyOptions()})`);
        fsyncFile(staged);
        renameSync(staged, target);
        fsyncDir(this.path);
      } else if (existsSync(target)) {
        // Cannot happen on an exact replay; keeps "as if written once" if it somehow does.
        rmSync(target);
        fsyncDir(this.path);
      }
      const entry: ManifestEntry = {
        version: 1,
        sink: this.name,
        batch_id: batch.batchId,
        batch_time: new Date(batch.batchTime).toISOString(),
        num_rows: batch.numRows,
        files: batch.numRows > 0 ? [file] : [],
      };
      writeFileAtomic(this.manifestPath(batch.batchId), `${JSON.stringify(entry)}\n`);
    } catch (err) {
      throw externalError(`sink '${this.name}': writing batch ${batch.batchId} to ${target} failed: ${errorMessage(err)}`, true, err);
    }
  }

  /**
   * A partitioned batch: COPY … PARTITION_BY writes a directory tree under staging, whose files are then moved to
   * the same relative places in the table. The names carry the batch id, so a replay renames over the same files
   * (same ranges ⇒ same rows ⇒ same partitions); the manifest lists them.
   */
  private async addPartitionedBatch(batch: SinkBatch): Promise<void> {
    const staged = join(this.stagingDir, `part-${padBatchId(batch.batchId)}`);
    try {
      rmSync(staged, { recursive: true, force: true });
      let files: string[] = [];
      if (batch.numRows > 0) {
        const columns = this.partitionBy.map((c) => `"${c.replaceAll('"', '""')}"`).join(', ');
        await batch.engine.run(
          `COPY (SELECT * FROM ${batch.relation}) TO ${literal(staged)} (${this.copyOptions()}, PARTITION_BY (${columns}), FILENAME_PATTERN 'part-${padBatchId(batch.batchId)}_{i}')`,
        );
        files = movePartitionedFiles(staged, this.path);
      }
      const entry: ManifestEntry = { version: 1, sink: this.name, batch_id: batch.batchId, batch_time: new Date(batch.batchTime).toISOString(), num_rows: batch.numRows, files };
      writeFileAtomic(this.manifestPath(batch.batchId), `${JSON.stringify(entry)}\n`);
    } catch (err) {
      throw externalError(`sink '${this.name}': writing batch ${batch.batchId} partitioned by ${this.partitionBy.join(', ')} to ${this.path} failed: ${errorMessage(err)}`, true, err);
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
      rmSync(staged, { force: true });
      await batch.engine.run(`COPY (SELECT * FROM ${batch.relation}) TO ${literal(staged)} (${this.copyOptions()})`);
      fsyncFile(staged);
      renameSync(staged, target);
      fsyncDir(this.path);
      const entry: ManifestEntry = { version: 1, sink: this.name, batch_id: batch.batchId, batch_time: new Date(batch.batchTime).toISOString(), num_rows: batch.numRows, files: [file] };
      writeFileAtomic(this.manifestPath(batch.batchId), `${JSON.stringify(entry)}\n`);
    } catch (err) {
      throw externalError(`sink '${this.name}': writing the complete result of batch ${batch.batchId} to ${target} failed: ${errorMessage(err)}`, true, err);
    }
  }

  async close(): Promise<void> {}
}
