import { userError } from '../errors.js';
import type { ColumnSpec, ColumnType, ValueSchema } from '../source/schema.js';
import type { RawRecordBatch } from '../source/source.js';
import { valueOf } from './shared/raw-bytes.js';
import type { ValueFormat } from './shared/record-decoder.js';
import { isTimestampWithTime } from './shared/text-values.js';

const DEFAULT_SAMPLE_SIZE = 1000;

/** How many of one field's sampled values had each JSON type (nulls say nothing). */
interface Seen {
  integer: number;
  fraction: number;
  boolean: number;
  string: number;
  /** Strings that are ISO timestamps with a time part. */
  timestamps: number;
  nested: number;
}

/** A type seen in at least this share of a field's non-null sampled values is the column's type. */
export const DOMINANT_SHARE = 0.9;

/**
 * A value schema guessed from the first `sampleSize` decodable JSON objects (other records are skipped):
 * every field name in first-seen order, typed by the values it had. The dominant type wins: numbers → BIGINT
 * (DOUBLE if any has a fraction), booleans → BOOLEAN, strings → VARCHAR (TIMESTAMP when named in
 * `timestampColumns`, or when at least 90% of them are ISO timestamps with a time part), objects and arrays →
 * JSON, when that type makes up at least 90% (`DOMINANT_SHARE`) of the field's non-null values. The other
 * values of the field are dead-lettered when decoded, as any value of the wrong type is: one
 * `"user_id": "oops"` among a thousand integers must not turn the column into JSON. A field with no dominant
 * type, or only nulls, is JSON: the one type that takes any value. Nothing is `required`. 'text' has the fixed
 * `value VARCHAR` schema; 'csv' cannot be inferred.
 */
export function inferSchema(
  batches: readonly RawRecordBatch[],
  options: { format: ValueFormat; sampleSize?: number; timestampColumns?: readonly string[] },
): ValueSchema {
  if (options.format === 'text') return [{ name: 'value', type: 'VARCHAR', required: false }];
  if (options.format === 'raw') return [{ name: 'value', type: 'BLOB', required: false }];
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
          seen = { integer: 0, fraction: 0, boolean: 0, string: 0, timestamps: 0, nested: 0 };
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
      if (Number.isInteger(v)) seen.integer++;
      else seen.fraction++;
      break;
    case 'boolean':
      seen.boolean++;
      break;
    case 'string':
      seen.string++;
      if (isTimestampWithTime(v)) seen.timestamps++;
      break;
    case 'object':
      if (v !== null) seen.nested++;
      break;
  }
}

function typeOf(seen: Seen): ColumnType {
  const number = seen.integer + seen.fraction;
  const nonNull = number + seen.boolean + seen.string + seen.nested;
  const dominant = (n: number, of = nonNull): boolean => n > 0 && n >= DOMINANT_SHARE * of;
  if (dominant(number)) return seen.fraction > 0 ? 'DOUBLE' : 'BIGINT';
  if (dominant(seen.boolean)) return 'BOOLEAN';
  if (dominant(seen.string)) return dominant(seen.timestamps, seen.string) ? 'TIMESTAMP' : 'VARCHAR';
  return 'JSON';
}
