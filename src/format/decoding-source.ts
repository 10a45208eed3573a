import type * as arrow from 'apache-arrow';
import { performance } from 'node:perf_hooks';
import type { OffsetRange, PartitionKey } from '../plan/offset-range.js';
import type { BatchCaps } from '../plan/plan-batch.js';
import type { RawSource } from '../source/raw-source.js';
import type { ColumnSpec, ValueSchema } from '../source/schema.js';
import type { DeadLetter, RawRecordBatch, Source, SourceBatch } from '../source/source.js';
import { decodeRecords, inferSchema, storedSchema, type ValueFormat } from './index.js';

/**
 * A metadata column a connector fills itself after decoding (Kafka's `_headers`). It travels last in the schema
 * the driver sees, so it reaches the bind check and the checkpoint like a value column, but the decoder never sees it.
 */
export interface TrailingColumn {
  readonly spec: ColumnSpec;
  /** `table` (the decoded rows of `raws`, dead letters left out) with this column appended. */
  append(table: arrow.Table, raws: readonly RawRecordBatch[], deadLetters: readonly DeadLetter[]): arrow.Table;
}

export interface DecodingOptions {
  readonly format: ValueFormat;
  /** The declared value columns; undefined to infer them from the first batch with data. */
  readonly schema: ValueSchema | undefined;
  readonly maxValueBytes: number | undefined;
  /** Columns inference should read as timestamps (the job's event-time column). */
  readonly timestampColumns: readonly string[];
  readonly trailingColumn?: TrailingColumn;
  /** More trailing columns after `trailingColumn`, in this order (NATS's `_subject` and `_headers`). */
  readonly trailingColumns?: readonly TrailingColumn[];
}

/** Records read for schema inference. */
const SAMPLE_RECORDS = 1000;

/**
 * A connector's raw records as a Source (docs/architecture.md#connector-contract): the one place that owns the value schema (declared, inferred
 * from the first batch, or as the checkpoint stored it), projection pushdown (`keepColumns`/`readSchema`), decoding
 * into Arrow and dead letters. The connector underneath only knows offsets and bytes (RawSource).
 */
export class DecodingSource<R extends RawSource = RawSource> implements Source {
  private valueSchema: ValueSchema | undefined;
  private kept: readonly string[] | undefined;
  private readonly trailing: readonly TrailingColumn[];
  /** Present only when the connector can read ahead (the driver asks sources that have it). */
  readonly prefetch?: (ranges: readonly OffsetRange[]) => void;
  /** Present only when the connector commits progress somewhere (a consumer group). */
  readonly commit?: (ranges: readonly OffsetRange[]) => Promise<void>;

  constructor(
    readonly name: string,
    protected readonly raw: R,
    private readonly options: DecodingOptions,
  ) {
    this.valueSchema = options.schema;
    this.trailing = [...(options.trailingColumn ? [options.trailingColumn] : []), ...(options.trailingColumns ?? [])];
    const { prefetch, commit } = raw;
    // Read ahead only once values can be decoded: before that there is no batch to serve.
    if (prefetch) this.prefetch = (ranges) => (this.valueSchema ? prefetch.call(raw, ranges) : undefined);
    if (commit) this.commit = (ranges) => commit.call(raw, ranges);
  }

  get schema(): ValueSchema | undefined {
    return this.valueSchema ? this.withTrailing(this.valueSchema) : undefined;
  }

  get readSchema(): ValueSchema | undefined {
    return this.valueSchema ? this.withTrailing(storedSchema({ schema: this.valueSchema, storedColumns: this.kept })) : undefined;
  }

  get startingPosition(): 'earliest' | 'latest' {
    return this.raw.startingPosition;
  }

  get caps(): BatchCaps | undefined {
    return this.raw.caps;
  }

  useSchema(schema: ValueSchema): void {
    const trailing = new Set(this.trailing.map((t) => t.spec.name));
    this.valueSchema = trailing.size === 0 ? schema : schema.filter((c) => !trailing.has(c.name));
  }

  /** A trailing column is metadata: always returned, whatever is kept. */
  keepColumns(names: readonly string[] | undefined): void {
    this.kept = names;
  }

  latestOffsets(): Promise<Map<PartitionKey, bigint>> {
    return this.raw.latestOffsets();
  }

  earliestOffsets(): Promise<Map<PartitionKey, bigint>> {
    return this.raw.earliestOffsets();
  }

  async inferSchema(ranges: readonly OffsetRange[]): Promise<ValueSchema> {
    const sample = this.raw.sampleRanges?.(ranges, SAMPLE_RECORDS) ?? firstRecords(ranges, SAMPLE_RECORDS);
    const { raws } = await this.raw.readRaw(sample);
    return this.withTrailing(inferSchema(raws, { format: this.options.format, timestampColumns: this.options.timestampColumns }));
  }

  async read(ranges: readonly OffsetRange[]): Promise<SourceBatch> {
    if (!this.valueSchema) throw new Error(`source '${this.name}': read before its schema is known`);
    const t0 = performance.now();
    // with a read-ahead taken, `readMs` is only what this read still waited for it
    const { raws, lostRanges, prefetch } = await this.raw.readRaw(ranges);
    const t1 = performance.now();
    const decoded = decodeRecords(raws, {
      format: this.options.format,
      schema: this.valueSchema,
      maxValueBytes: this.options.maxValueBytes,
      ...(this.kept ? { storedColumns: this.kept } : {}),
    });
    const table = this.trailing.reduce((t, trailing) => trailing.append(t, raws, decoded.deadLetters), decoded.table);
    const t2 = performance.now();
    return {
      ...decoded,
      table,
      timings: { readMs: t1 - t0, decodeMs: t2 - t1 },
      ...(lostRanges && lostRanges.length > 0 ? { lostRanges } : {}),
      ...(prefetch ? { prefetch } : {}),
    };
  }

  close(): Promise<void> {
    return this.raw.close();
  }

  private withTrailing(schema: ValueSchema): ValueSchema {
    return this.trailing.length > 0 ? [...schema, ...this.trailing.map((t) => t.spec)] : schema;
  }
}

/** The first `records` offsets of the ranges, in range order (empty ranges dropped). */
function firstRecords(ranges: readonly OffsetRange[], records: number): OffsetRange[] {
  const out: OffsetRange[] = [];
  let left = BigInt(records);
  for (const r of ranges) {
    if (left <= 0n) break;
    const size = r.until - r.from;
    if (size <= 0n) continue;
    const take = size < left ? size : left;
    out.push({ ...r, until: r.from + take });
    left -= take;
  }
  return out;
}
