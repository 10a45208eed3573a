import { internalError, userError } from '../errors.js';
import { METADATA_FIELDS, type ValueSchema } from '../source/schema.js';
import type { DeadLetter, RawRecordBatch, SourceBatch } from '../source/source.js';
import { CsvDecoder } from './csv/csv-decoder.js';
import { JsonDecoder, sampleFieldBytes } from './json/json-decoder.js';
import { NO_VALUE, tooLarge } from './shared/reasons.js';
import type { RecordDecoder, ValueFormat } from './shared/record-decoder.js';
import { RowsBuilder } from './shared/rows-builder.js';
import { keyOf, valueOf } from './shared/raw-bytes.js';
import { RawBytesDecoder } from './raw/raw-decoder.js';
import { PlainTextDecoder } from './text/text-decoder.js';

export { inferSchema } from './infer.js';

export type { ValueFormat } from './shared/record-decoder.js';

export interface DecodeOptions {
  format: ValueFormat;
  /** The value columns (for 'text': one VARCHAR column, conventionally `value`). */
  schema: ValueSchema;
  /** Larger values are dead-lettered. Default 1 MiB. */
  maxValueBytes?: number;
  /** csv: the field separator, one ASCII character (default ','). Fields come in schema order, no header. */
  csvDelimiter?: string;
  /**
   * The value columns to put in the table (names matched in any case; others ignored). The rest are decoded and
   * checked exactly as the stored ones (the same records become dead letters, for the same reasons), then dropped.
   * Undefined: every column.
   */
  storedColumns?: readonly string[];
}

/** The value columns of the table `decodeRecords` returns: the schema, less the columns `storedColumns` leaves out. */
export function storedSchema(options: Pick<DecodeOptions, 'schema' | 'storedColumns'>): ValueSchema {
  const stored = storedFlags(options);
  return stored ? options.schema.filter((_, c) => stored[c]) : options.schema;
}

function storedFlags(options: Pick<DecodeOptions, 'schema' | 'storedColumns'>): boolean[] | undefined {
  if (!options.storedColumns) return undefined;
  const names = new Set(options.storedColumns.map((n) => n.toLowerCase()));
  return options.schema.map((c) => names.has(c.name.toLowerCase()));
}

export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

/** The schema to give a 'text' source: the whole value as one string. */
export const TEXT_SCHEMA: ValueSchema = Object.freeze([Object.freeze({ name: 'value', type: 'VARCHAR', required: false } as const)]);

/** The schema of a 'raw' source: the whole value as bytes. */
export const RAW_SCHEMA: ValueSchema = Object.freeze([Object.freeze({ name: 'value', type: 'BLOB', required: false } as const)]);

/**
 * Decodes raw records into one Arrow table with `batchSchema(storedSchema(options))`: rows in input order (batch
 * by batch, record by record), each record either a row or a dead letter (never both, never dropped).
 */
export function decodeRecords(batches: readonly RawRecordBatch[], options: DecodeOptions): SourceBatch {
  const maxValueBytes = checkOptions(options);
  let total = 0;
  for (const batch of batches) {
    checkBatch(batch);
    total += batch.count;
  }
  const out = new RowsBuilder(options.schema, batches, textBytesEstimate(batches, total, options), storedFlags(options));
  const decoder = recordDecoder(options, out);
  const deadLetters: DeadLetter[] = [];
  for (const batch of batches) {
    const from = out.rows;
    const offsetHalves = new Int32Array(batch.offsets.buffer, batch.offsets.byteOffset, batch.count * 2);
    const bytes = batch.bytes;
    for (let i = 0; i < batch.count; i++) {
      let reason: string | null;
      if (bytes) {
        // fast path: positions into the read buffers, no object per record
        const length = bytes.valueLength[i]!;
        if (length < 0) reason = NO_VALUE;
        else if (length > maxValueBytes) reason = tooLarge(length, maxValueBytes);
        else {
          const start = bytes.valueStart[i]!;
          reason = decoder.decode(bytes.chunks[bytes.chunkOf[i]!]!, start, start + length, out.rows);
        }
      } else {
        const value = batch.values[i];
        if (value == null) reason = NO_VALUE;
        else if (value.length > maxValueBytes) reason = tooLarge(value.length, maxValueBytes);
        else reason = decoder.decode(value, 0, value.length, out.rows);
      }
      if (reason === null) out.commit(batch, i, offsetHalves);
      else deadLetters.push(deadLetter(batch, i, reason));
    }
    out.endBatch(batch, from);
  }
  return { table: out.finish(), deadLetters, numRecords: total };
}

function recordDecoder(options: DecodeOptions, out: RowsBuilder): RecordDecoder {
  switch (options.format) {
    case 'json':
      return new JsonDecoder(out.values, out.rowMask);
    case 'text':
      return intoRowMask(new PlainTextDecoder(out.values[0]!), out.rowMask[0]!);
    case 'raw':
      return intoRowMask(new RawBytesDecoder(out.values[0]!), out.rowMask[0]!);
    case 'csv':
      return new CsvDecoder(out.values, (options.csvDelimiter ?? ',').charCodeAt(0), out.rowMask);
  }
}

/** A one-column decoder writing row `row & mask` (row 0 of a scratch column when its column is not stored). */
function intoRowMask(decoder: RecordDecoder, mask: number): RecordDecoder {
  return mask === -1 ? decoder : { decode: (b, start, end, row) => decoder.decode(b, start, end, row & mask) };
}

const SAMPLE = 64;

/**
 * Expected bytes of every text value column: the exact value bytes for 'text'; for JSON and csv the average
 * over a sample of the first values (for JSON, the scanner measures each field), plus a quarter.
 */
function textBytesEstimate(batches: readonly RawRecordBatch[], total: number, options: DecodeOptions): number[] {
  const sample: Uint8Array[] = [];
  let valueBytes = 0;
  for (const batch of batches) {
    if (options.format === 'text' || options.format === 'raw') {
      for (let i = 0; i < batch.count; i++) {
        valueBytes += batch.bytes ? Math.max(0, batch.bytes.valueLength[i]!) : (batch.values[i]?.length ?? 0);
      }
      continue;
    }
    for (let i = 0; i < batch.count && sample.length < SAMPLE; i++) {
      const v = valueOf(batch, i);
      if (v) sample.push(v);
    }
  }
  if (options.format === 'text' || options.format === 'raw') return [valueBytes];
  const perRecord =
    options.format === 'json'
      ? sampleFieldBytes(
          options.schema.map((c) => c.name),
          sample,
        )
      : options.schema.map(() => sample.reduce((a, v) => a + v.length, 0) / Math.max(1, sample.length * options.schema.length));
  return perRecord.map((b) => Math.ceil(b * 1.25 * total) + 1024);
}

function deadLetter(batch: RawRecordBatch, i: number, reason: string): DeadLetter {
  return {
    topic: batch.topic,
    partition: batch.partition,
    offset: batch.offsets[i]!,
    timestamp: batch.timestamps[i]!,
    key: keyOf(batch, i),
    value: valueOf(batch, i),
    reason,
  };
}

/** Validates the options (a user's job configuration); returns the value size limit. */
function checkOptions(options: DecodeOptions): number {
  const { format, schema } = options;
  if (format !== 'json' && format !== 'text' && format !== 'csv' && format !== 'raw') {
    throw userError(`unknown value format '${String(format)}'`, "use format = 'json', 'text', 'csv' or 'raw'");
  }
  if (schema.length === 0) throw userError('the value schema declares no columns', "declare them: schema = 'ts TIMESTAMP, url VARCHAR, status INTEGER'");
  const seen = new Set<string>(METADATA_FIELDS.map((f) => f.name));
  for (const col of schema) {
    if (seen.has(col.name)) {
      throw userError(`value column '${col.name}' is declared twice or clashes with a metadata column`, 'rename it in the schema');
    }
    seen.add(col.name);
  }
  if (format === 'raw' && (schema.length !== 1 || schema[0]!.type !== 'BLOB')) {
    throw userError(
      `a 'raw' source has one BLOB column, not '${schema.map((c) => `${c.name} ${c.type}`).join(', ')}'`,
      "schema = 'value BLOB' (or leave it out)",
    );
  }
  if (format !== 'raw' && schema.some((c) => c.type === 'BLOB')) {
    throw userError(`BLOB columns are for format = 'raw' (got a ${format} source)`, "use VARCHAR, or format = 'raw'");
  }
  if (format === 'text' && (schema.length !== 1 || schema[0]!.type !== 'VARCHAR')) {
    throw userError(
      `a 'text' source has one VARCHAR column, not '${schema.map((c) => `${c.name} ${c.type}`).join(', ')}'`,
      "schema = 'value VARCHAR' (or leave it out)",
    );
  }
  if (format === 'csv' && options.csvDelimiter !== undefined) {
    const d = options.csvDelimiter;
    if (d.length !== 1 || d.charCodeAt(0) > 0x7f || d === '"' || d === '\n' || d === '\r') {
      throw userError(
        `csv delimiter ${JSON.stringify(d)} is not one ASCII character other than a quote or newline`,
        "csv_delimiter = ',' (or ';', '|', '\\t')",
      );
    }
  }
  const max = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  if (!Number.isInteger(max) || max <= 0) throw userError(`max_value_bytes is ${max}`, 'set max_value_bytes to a positive whole number of bytes');
  return max;
}

function checkBatch(batch: RawRecordBatch): void {
  const n = batch.count;
  const b = batch.bytes;
  const short = b
    ? b.chunkOf.length < n || b.keyStart.length < n || b.keyLength.length < n || b.valueStart.length < n || b.valueLength.length < n
    : batch.keys.length < n || batch.values.length < n;
  if (batch.offsets.length < n || batch.timestamps.length < n || short) {
    throw internalError(`raw batch of ${batch.topic}/${batch.partition} says ${n} records but its columns are shorter`);
  }
}
