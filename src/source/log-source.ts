import * as arrow from 'apache-arrow';
import { performance } from 'node:perf_hooks';
import { userError } from '../errors.js';
import { openLog, toColumnarBatch, type EmbeddedLog } from '../log/index.js';
import { partitionKey, rangeSize, rangesKey, type OffsetRange, type PartitionKey } from '../plan/offset-range.js';
import { decodeRecords, inferSchema, storedSchema, type DecodeOptions, type ValueFormat } from './decode/index.js';
import { decodeForDuckdb } from './decode/duckdb-json.js';
import { DecodePool } from './decode-pool.js';
import { unpackDeadLetter, unpackRows, type DecodedPart, type DecodeOutcome, type DecodeTask } from './decode-task.js';
import { ReadAhead } from './read-ahead.js';
import type { RawRecordBatch, Source, SourceBatch } from './source.js';
import { batchSchema, type ValueSchema } from './schema.js';
import { reviveError } from './worker-errors.js';

export interface LogSourceOptions {
  readonly format: ValueFormat;
  readonly schema: ValueSchema | undefined;
  readonly maxValueBytes: number | undefined;
  readonly startingPosition: 'earliest' | 'latest';
  readonly timestampColumns: readonly string[];
  /**
   * Who parses JSON values: 'js' (the JS decoder, the default) or 'duckdb' (json_transform at ingest, the records
   * DuckDB cannot prove alike left to the JS decoder: src/source/decode/duckdb-json.ts). Measured slower on two
   * cores (see the README), hence opt-in; the environment variable DUCKSTREAM_JSON_DECODE=duckdb sets the default.
   */
  readonly jsonDecode?: 'js' | 'duckdb';
  /**
   * Worker threads reading and decoding partitions in parallel (JS decode only; src/source/decode-pool.ts): at most
   * this many, 0 = everything on the main thread. Default: the environment variable DUCKSTREAM_DECODE_WORKERS,
   * else one per core. The output (rows, order, dead letters, errors) is the same either way.
   */
  readonly decodeWorkers?: number;
  /** Batches of fewer records stay on the main thread (a worker round trip costs more than it saves); nor are they read ahead. */
  readonly decodeWorkersMinRecords?: number;
  /**
   * Worker threads reading the next batch ahead while the driver works on this one (`prefetch`; JS decode only):
   * 0 = off. Default: the environment variable DUCKSTREAM_PREFETCH, else 0 (off: see `prefetchThreads` below).
   */
  readonly prefetchThreads?: number;
}

/** Below this many records per batch the worker round trip costs about what it saves (`node dist/bench/decode.js workers`). */
export const DECODE_WORKERS_MIN_RECORDS = 20_000;

/** The embedded partitioned log as a source (DESIGN §4): offsets are the log's own, reads are exact. */
export class LogSource implements Source {
  private valueSchema: ValueSchema | undefined;
  private pool: DecodePool | undefined;
  private poolBroken = false;
  private readAhead: ReadAhead | undefined;
  private kept: readonly string[] | undefined;

  private constructor(
    readonly name: string,
    private readonly log: EmbeddedLog,
    private readonly options: LogSourceOptions,
  ) {
    this.valueSchema = options.schema;
  }

  static async open(name: string, path: string, options: LogSourceOptions): Promise<LogSource> {
    return new LogSource(name, await openLog(path), options);
  }

  get schema(): ValueSchema | undefined {
    return this.valueSchema;
  }

  private get jsonDecode(): 'js' | 'duckdb' {
    return this.options.jsonDecode ?? (process.env['DUCKSTREAM_JSON_DECODE'] === 'duckdb' ? 'duckdb' : 'js');
  }

  get startingPosition(): 'earliest' | 'latest' {
    return this.options.startingPosition;
  }

  useSchema(schema: ValueSchema): void {
    this.valueSchema = schema;
  }

  keepColumns(names: readonly string[] | undefined): void {
    this.kept = names;
  }

  get readSchema(): ValueSchema | undefined {
    return this.valueSchema && this.jsonDecode === 'js' ? storedSchema({ schema: this.valueSchema, storedColumns: this.kept }) : this.valueSchema;
  }

  async latestOffsets(): Promise<Map<PartitionKey, bigint>> {
    return this.offsets((p) => this.log.endOffset(p));
  }

  async earliestOffsets(): Promise<Map<PartitionKey, bigint>> {
    return this.offsets((p) => this.log.startOffset(p));
  }

  async inferSchema(ranges: readonly OffsetRange[]): Promise<ValueSchema> {
    const sample = this.readRaw(ranges, 1000);
    return inferSchema(sample, { format: this.options.format, timestampColumns: this.options.timestampColumns });
  }

  async read(ranges: readonly OffsetRange[]): Promise<SourceBatch> {
    if (!this.valueSchema) throw new Error(`source '${this.name}': read before its schema is known`);
    const options = this.decodeOptions(this.valueSchema);
    const ahead = await this.readAhead?.take(readAheadKey(ranges, options));
    // read + decode time of a batch read ahead: what this read waited for it, plus putting its parts together
    if (ahead !== undefined && ahead !== 'discarded') return withPrefetch(this.assemble(ahead.outcomes, options, performance.now() - ahead.waitMs), 'used');
    return ahead === 'discarded' ? withPrefetch(await this.readNow(ranges, options), 'discarded') : this.readNow(ranges, options);
  }

  /**
   * Start reading and decoding `ranges` on a worker thread for the next `read` (Source.prefetch). Not for small
   * batches (the round trip), nor when DuckDB decodes the JSON (the worker path is the JS decoder's).
   */
  prefetch(ranges: readonly OffsetRange[]): void {
    const threads = this.prefetchThreads;
    if (threads === 0 || !this.valueSchema || this.jsonDecode !== 'js') return;
    const options = this.decodeOptions(this.valueSchema);
    const { tasks, total } = this.tasks(ranges, options);
    if (tasks.length === 0 || total < BigInt(this.options.decodeWorkersMinRecords ?? DECODE_WORKERS_MIN_RECORDS)) return;
    this.readAhead ??= new ReadAhead(threads);
    this.readAhead.start(readAheadKey(ranges, options), tasks);
  }

  /** Batches read ahead, and how many of them a read took or discarded. */
  get prefetchCounts(): { readonly started: number; readonly used: number; readonly discarded: number } {
    return { ...(this.readAhead?.counts ?? { started: 0, used: 0, discarded: 0 }) };
  }

  private decodeOptions(schema: ValueSchema): DecodeOptions {
    // The DuckDB decode stores every column (its merge with the JS decoder's rows takes the whole schema).
    const storedColumns = this.jsonDecode === 'js' ? this.kept : undefined;
    return { format: this.options.format, schema, maxValueBytes: this.options.maxValueBytes, ...(storedColumns ? { storedColumns } : {}) };
  }

  private async readNow(ranges: readonly OffsetRange[], options: DecodeOptions): Promise<SourceBatch> {
    if (this.jsonDecode === 'js') {
      const pooled = await this.readInWorkers(ranges, options);
      if (pooled) return pooled;
    }
    const t0 = performance.now();
    const raws = this.readRaw(ranges, Infinity);
    const t1 = performance.now();
    // with the DuckDB decode, the values are parsed at ingest (ingestSourceBatch) and dead letters known only then
    const decoded = this.jsonDecode === 'duckdb' ? decodeForDuckdb(raws, options) : decodeRecords(raws, options);
    const t2 = performance.now();
    return withTimings(decoded, { readMs: t1 - t0, decodeMs: t2 - t1 });
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    // (the closed read-ahead stays, refusing new batches and keeping its counts)
    await Promise.all([pool?.close(), this.readAhead?.close()]);
    await this.log.close();
  }

  /**
   * The batch read and decoded partition by partition on worker threads, assembled in range order: the same rows,
   * dead letters and errors as the main-thread path, one record batch per partition. Undefined when the batch is
   * to stay on the main thread (workers off, small batch) or the threads themselves failed.
   */
  private async readInWorkers(ranges: readonly OffsetRange[], options: DecodeOptions): Promise<SourceBatch | undefined> {
    const threads = this.decodeWorkers;
    if (threads === 0 || this.poolBroken) return undefined;
    const { tasks, total } = this.tasks(ranges, options);
    // one range would run on one thread while this one waits: a round trip for nothing
    if (tasks.length < 2 || total < BigInt(this.options.decodeWorkersMinRecords ?? DECODE_WORKERS_MIN_RECORDS)) return undefined;
    this.pool ??= new DecodePool(threads);
    const t0 = performance.now();
    let outcomes;
    try {
      outcomes = await this.pool.runAll(tasks);
    } catch (err) {
      // A thread that cannot start or dies is no reason to fail the batch: the main thread does it, as it always can.
      this.poolBroken = true;
      process.emitWarning(`source '${this.name}': decode worker threads failed (${(err as Error).message}); decoding on the main thread from now on`);
      return undefined;
    }
    return this.assemble(outcomes, options, t0);
  }

  /** One task per non-empty range, in range order. */
  private tasks(ranges: readonly OffsetRange[], options: DecodeOptions): { tasks: DecodeTask[]; total: bigint } {
    const tasks: DecodeTask[] = [];
    let total = 0n;
    for (const r of ranges) {
      const size = rangeSize(r);
      if (size === 0n) continue;
      total += size;
      tasks.push({ dir: this.log.dir, partition: r.partition, from: r.from, until: r.until, options });
    }
    return { tasks, total };
  }

  /**
   * The workers' parts as one batch in task order, or the error the main thread would have thrown. The time from
   * `since` to the end of this is the batch's read + decode time.
   */
  private assemble(outcomes: readonly DecodeOutcome[], options: DecodeOptions, since: number): SourceBatch {
    // The main-thread path reads every partition before decoding any: a read error wins over a decode error.
    const failed = outcomes.find((o) => !o.ok && o.phase === 'read') ?? outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) throw reviveError(failed.error);
    const parts = outcomes.map((o) => (o as { part: DecodedPart }).part);
    const schema = batchSchema(storedSchema(options));
    const withRows = parts.filter((p) => p.rows > 0);
    const batches = (withRows.length > 0 ? withRows : parts.slice(0, 1)).map((p) => unpackRows(schema, p));
    const deadLetters = parts.flatMap((p) => p.deadLetters.map(unpackDeadLetter));
    const wallMs = performance.now() - since;
    // Read and decode overlap across threads: the wall time is split between the two phases as their CPU times are.
    const readCpu = parts.reduce((a, p) => a + p.readMs, 0);
    const decodeCpu = parts.reduce((a, p) => a + p.decodeMs, 0);
    const readMs = readCpu + decodeCpu > 0 ? (wallMs * readCpu) / (readCpu + decodeCpu) : 0;
    const numRecords = parts.reduce((a, p) => a + p.numRecords, 0);
    const batch: SourceBatch = { table: new arrow.Table(schema, batches), deadLetters, numRecords };
    return withTimings(batch, { readMs, decodeMs: wallMs - readMs });
  }

  /**
   * Max decode threads: the option, else DUCKSTREAM_DECODE_WORKERS, else 0 (off). Off by default: on an idle 2-core
   * machine the pool gained 0–6 % on Nexmark q0 and its start-up (threads, their JIT) made 1–2-batch jobs (q3, q8)
   * 2× slower (bench/RESULTS.md); `availableParallelism()` threads is the setting to try on more cores.
   */
  private get decodeWorkers(): number {
    const configured = this.options.decodeWorkers ?? decodeWorkersFromEnv();
    const n = configured ?? 0;
    if (!Number.isInteger(n) || n < 0) throw userError(`source '${this.name}': decodeWorkers is ${n}`, 'use a whole number of threads, 0 to decode on the main thread');
    return n;
  }

  /**
   * Read-ahead threads: the option, else DUCKSTREAM_PREFETCH, else 0 (off). Off by default: on the shared 2-core
   * machine it was measured on (no idle core) it cost 15–30 % more CPU (thread start, its JIT warming up on the
   * first batch, a slower decode in the thread) and made Nexmark q0/q2/q5 ~15 % slower; it can only pay where a core
   * is idle while DuckDB works. 1 thread is the setting to try (one batch decodes while DuckDB has the other).
   */
  private get prefetchThreads(): number {
    const n = this.options.prefetchThreads ?? prefetchFromEnv() ?? 0;
    if (!Number.isInteger(n) || n < 0) throw userError(`source '${this.name}': prefetchThreads is ${n}`, 'use a whole number of threads, 0 for no read-ahead');
    return n;
  }

  private readRaw(ranges: readonly OffsetRange[], limit: number): RawRecordBatch[] {
    const out: RawRecordBatch[] = [];
    let left = limit;
    for (const r of ranges) {
      if (left <= 0) break;
      const size = rangeSize(r);
      if (size === 0n) continue;
      const until = BigInt(Math.min(Number(size), left)) + r.from;
      // Columns, not one view per record: the decoder reads `bytes` (GC walking 1M views cost a fifth of decode).
      const batch = toColumnarBatch(this.log.readColumns(r.partition, r.from, until));
      out.push(batch);
      left -= batch.count;
    }
    return out;
  }

  private offsets(at: (partition: number) => bigint): Map<PartitionKey, bigint> {
    const out = new Map<PartitionKey, bigint>();
    const n = this.log.partitionCount();
    for (let p = 0; p < n; p++) out.set(partitionKey({ topic: this.log.topic, partition: p }), at(p));
    return out;
  }
}

function threadsFromEnv(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw userError(`${name} is '${v}'`, `set it to a whole number of threads (0 = ${name === 'DUCKSTREAM_PREFETCH' ? 'no read-ahead' : 'decode on the main thread'}), or unset it`);
  return Number(v);
}

function decodeWorkersFromEnv(): number | undefined {
  return threadsFromEnv('DUCKSTREAM_DECODE_WORKERS');
}

function prefetchFromEnv(): number | undefined {
  return threadsFromEnv('DUCKSTREAM_PREFETCH');
}

/** The ranges (empty ones included) and decode options of a batch read ahead: a read takes it only if they are the same. */
function readAheadKey(ranges: readonly OffsetRange[], options: DecodeOptions): string {
  return `${rangesKey(ranges)} ${JSON.stringify(options)}`;
}

function withPrefetch(batch: SourceBatch, prefetch: 'used' | 'discarded'): SourceBatch {
  return Object.defineProperty(batch, 'prefetch', { value: prefetch, enumerable: true });
}

/** `batch` with timings; keeps its lazy `table` getter (a spread would run it). */
function withTimings(batch: SourceBatch, timings: { readMs: number; decodeMs: number }): SourceBatch {
  return Object.defineProperty(batch, 'timings', { value: timings, enumerable: true });
}
