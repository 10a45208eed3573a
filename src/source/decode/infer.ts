import { userError } from '../../errors.js';
import type { ColumnSpec, ColumnType, ValueSchema } from '../schema.js';
import type { RawRecordBatch } from '../source.js';
import { valueOf } from './raw-bytes.js';
import type { ValueFormat } from './record-decoder.js';
import { isTimestampWithTime } from './text-values.js';

const DEFAULT_SAMPLE_SIZE = 1000;

/** What one field's sampled values looked like (nulls say nothing). */
interface Seen {
  integer: boolean;
  fraction: boolean;
  boolean: boolean;
  string: boolean;
  /** Every string seen was an ISO timestamp with a time part. */
  allTimestamps: boolean;
  nested: boolean;
}

/**
 * A value schema guessed from the first `sampleSize` decodable JSON objects (other records are skipped):
 * every field name in first-seen order; integral numbers → BIGINT (DOUBLE if any has a fraction),
 * booleans → BOOLEAN, strings → VARCHAR (TIMESTAMP when named in `timestampColumns` or when every value is
 * an ISO timestamp with a time part), objects and arrays → JSON. A field with several JSON types, or only
 * nulls, is JSON: the one type that takes any value, so no record is dead-lettered for it. Nothing is
 * `required`. 'text' has the fixed `value VARCHAR` schema; 'csv' cannot be inferred.
 */
export function inferSchema(
  batches: readonly RawRecordBatch[],
  options: { format: ValueFormat; sampleSize?: number; timestampColumns?: readonly string[] },
): ValueSchema {
  if (options.format === 'text') return [{ name: 'value', type: 'VARCHAR', required: false }];
  if (options.format === 'csv') {
    throw userError(
      'a csv source needs a declared schema: csv lines carry no field names or types',
      "declare the fields in line order, e.g. schema = 'ts TIMESTAMP, url VARCHAR, status INTEGER'",
    );
  }
  const sampleSize = options.sampleSize ?? DEFAULT_SAMPLE_SIZE;
  const fields = sample(batches, sampleSize);
  if (fields.size === 0) {
    throw userError(
      `cannot infer a schema: no JSON object with fields among the first ${sampleSize} records`,
      "declare it, e.g. schema = 'ts TIMESTAMP, url VARCHAR, status INTEGER', or start the job once the topic has data",
    );
  }
  const timestampColumns = new Set(options.timestampColumns ?? []);
  for (const name of timestampColumns) {
    if (!fields.has(name)) {
      throw userError(
        `timestamp column '${name}' is not a field of the sampled records (fields: ${[...fields.keys()].join(', ')})`,
        'name an existing field, or declare the schema',
      );
    }
  }
  const schema: ColumnSpec[] = [];
  for (const [name, seen] of fields) {
    schema.push({ name, type: timestampColumns.has(name) ? 'TIMESTAMP' : typeOf(seen), required: false });
  }
  return schema;
}

function sample(batches: readonly RawRecordBatch[], sampleSize: number): Map<string, Seen> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const fields = new Map<string, Seen>();
  let sampled = 0;
  for (const batch of batches) {
    for (let i = 0; i < batch.count && sampled < sampleSize; i++) {
      const value = valueOf(batch, i);
      if (value == null) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(decoder.decode(value));
      } catch {
        continue;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) continue;
      sampled++;
      for (const [name, v] of Object.entries(parsed)) {
        let seen = fields.get(name);
        if (!seen) {
          seen = { integer: false, fraction: false, boolean: false, string: false, allTimestamps: true, nested: false };
          fields.set(name, seen);
        }
        observe(seen, v);
      }
    }
  }
  return fields;
}

function observe(seen: Seen, v: unknown): void {
  switch (typeof v) {
    case 'number':
      if (Number.isInteger(v)) seen.integer = true;
      else seen.fraction = true;
      break;
    case 'boolean':
      seen.boolean = true;
      break;
    case 'string':
      seen.string = true;
      if (seen.allTimestamps && !isTimestampWithTime(v)) seen.allTimestamps = false;
      break;
    case 'object':
      if (v !== null) seen.nested = true;
      break;
  }
}

function typeOf(seen: Seen): ColumnType {
  const number = seen.integer || seen.fraction;
  const kinds = Number(number) + Number(seen.boolean) + Number(seen.string) + Number(seen.nested);
  if (kinds !== 1) return 'JSON';
  if (number) return seen.fraction ? 'DOUBLE' : 'BIGINT';
  if (seen.boolean) return 'BOOLEAN';
  if (seen.string) return seen.allTimestamps ? 'TIMESTAMP' : 'VARCHAR';
  return 'JSON';
}
