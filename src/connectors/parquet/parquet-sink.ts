import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { literal, type Engine } from '../../sql/engine.js';
import { StagedFileSink } from '../../sink/staged-file-sink.js';

/** Codecs DuckDB's parquet writer takes. */
export const parquetCompressions = ['zstd', 'snappy', 'gzip', 'lz4', 'lz4_raw', 'brotli', 'uncompressed'] as const;
export type ParquetCompression = (typeof parquetCompressions)[number];

/**
 * Parquet files, one per batch: `<path>/part-<batchId padded to 10>.parquet`, plus `<path>/_manifest/<batchId>.json`.
 * Exactly-once by batch id through staging + atomic rename (see StagedFileSink). Read with
 * `read_parquet('<path>/*.parquet')`.
 */
export class ParquetSink extends StagedFileSink {
  protected readonly extension = 'parquet';
  private codec: ParquetCompression;

  /** `compression` undefined: zstd if this DuckDB build writes it, else snappy (decided in `open`). */
  constructor(
    name: string,
    path: string,
    private readonly compression?: ParquetCompression,
    partitionBy: readonly string[] = [],
  ) {
    super(name, path, partitionBy);
    this.codec = compression ?? 'snappy';
  }

  /** The codec in use (after `open`). */
  get effectiveCompression(): ParquetCompression {
    return this.codec;
  }

  protected override async prepare(engine: Engine): Promise<void> {
    if (this.compression !== undefined) return;
    const probe = join(this.stagingDir, `.zstd-probe.${process.pid}.parquet`);
    try {
      await engine.run(`COPY (SELECT 1 AS x) TO ${literal(probe)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
      this.codec = 'zstd';
    } catch {
      this.codec = 'snappy';
    } finally {
      rmSync(probe, { force: true });
    }
  }

  protected copyOptions(): string {
    return `FORMAT PARQUET, COMPRESSION ${this.codec.toUpperCase()}`;
  }
}
