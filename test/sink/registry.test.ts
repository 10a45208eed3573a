import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { createSink, sinkConnectors } from '../../src/connectors/registry.js';
import { ParquetSink } from '../../src/connectors/parquet/parquet-sink.js';
import { JsonlSink } from '../../src/connectors/jsonl/jsonl-sink.js';
import { DuckDbSink } from '../../src/connectors/duckdb/duckdb-sink.js';
import { ConsoleSink } from '../../src/connectors/console/console-sink.js';
import { DuckstreamError } from '../../src/errors.js';

const ctx = { jobDir: '/nowhere' };

function errorOf(options: Record<string, string>): DuckstreamError {
  try {
    createSink('errors', options, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(DuckstreamError);
    expect((err as DuckstreamError).domain).toBe('user');
    return err as DuckstreamError;
  }
  throw new Error(`createSink accepted ${JSON.stringify(options)}`);
}

describe('createSink', () => {
  it('knows every connector', () => {
    expect(sinkConnectors).toEqual(['parquet', 'jsonl', 'duckdb', 'console', 'kafka', 'nats', 'postgres']);
  });

  it('builds each sink, resolving relative paths against process.cwd()', () => {
    const parquet = createSink('errors', { connector: 'parquet', path: 'out/errors' }, ctx);
    expect(parquet).toBeInstanceOf(ParquetSink);
    expect((parquet as ParquetSink).path).toBe(resolve(process.cwd(), 'out/errors'));
    expect((parquet as ParquetSink).glob).toBe(resolve(process.cwd(), 'out/errors/*.parquet'));
    expect(createSink('j', { connector: 'jsonl', path: '/abs/j' }, ctx)).toBeInstanceOf(JsonlSink);
    const duck = createSink('d', { connector: 'duckdb', path: 'out/r.duckdb', table: 'errors' }, ctx) as DuckDbSink;
    expect(duck).toBeInstanceOf(DuckDbSink);
    expect([duck.path, duck.table]).toEqual([resolve('out/r.duckdb'), 'errors']);
    expect(createSink('c', { connector: 'console', max_rows: '5' }, { ...ctx, stdout: new PassThrough() })).toBeInstanceOf(ConsoleSink);
    expect(createSink('p', { connector: 'parquet', path: 'x', compression: 'SNAPPY' }, ctx)).toBeInstanceOf(ParquetSink);
  });

  it('says which option is missing and what it looks like', () => {
    expect(errorOf({ connector: 'parquet' }).message).toMatch(/^sink 'errors': connector 'parquet' needs path = '<dir>'\n {2}fix: /);
    expect(errorOf({ connector: 'duckdb', path: 'a.duckdb' }).message).toMatch(/^sink 'errors': connector 'duckdb' needs table = '<table>'/);
    expect(errorOf({ connector: 'duckdb' }).message).toMatch(/needs path = '<file>.duckdb'; needs table = '<table>'/);
  });

  it('refuses unknown connectors, unknown options and bad values', () => {
    expect(errorOf({}).message).toMatch(/^sink 'errors' needs connector = <one of 'parquet', 'jsonl', 'duckdb', 'console', 'kafka', 'nats', 'postgres'>/);
    expect(errorOf({ connector: 'kafkaa' }).message).toMatch(
      /unknown connector 'kafkaa'\n {2}fix: use one of 'parquet', 'jsonl', 'duckdb', 'console', 'kafka', 'nats', 'postgres'/,
    );
    expect(errorOf({ connector: 'parquet', path: 'x', pth: 'y' }).message).toMatch(
      /connector 'parquet' does not take 'pth' \(it takes connector, path, compression, partition_by\)/,
    );
    expect(errorOf({ connector: 'parquet', path: 'x', compression: 'zip' }).message).toMatch(
      /compression = 'zip' must be one of zstd, snappy, gzip, lz4, lz4_raw, brotli, uncompressed/,
    );
    expect(errorOf({ connector: 'console', max_rows: '0' }).message).toMatch(/max_rows = '0' must be a positive whole number/);
    expect(errorOf({ connector: 'jsonl', path: '  ' }).message).toMatch(/path = ' {2}' must not be empty/);
  });

  it('suggests the option or connector a typo meant', () => {
    expect(errorOf({ connector: 'parquet', path: 'x', pth: 'y' }).message).toMatch(
      /\(it takes connector, path, compression, partition_by\) — did you mean 'path'\?/,
    );
    expect(errorOf({ connector: 'parquet', path: 'x', qqq: 'y' }).message).not.toMatch(/did you mean/);
    expect(errorOf({ connector: 'kafkaa' }).message).toMatch(/\(did you mean 'kafka'\?\)/);
  });
});
