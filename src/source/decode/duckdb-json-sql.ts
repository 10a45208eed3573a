import type { ColumnSpec, ValueSchema } from '../schema.js';

/*
 * The SQL of the DuckDB fast path (see duckdb-json.ts): json_transform reads every schema field as JSON text
 * (`__j`), and a row counts as decoded (`__ok`) only when DuckDB can show that the JS decoder reads the record
 * the same way:
 * - the value is UTF-8 and JSON by DuckDB's reader, and an object (`{` first);
 * - every field's JSON type and form is one the JS decoder accepts for the column and converts to the same value
 *   (integers by a canonical round trip, plain UTC timestamps, no NaN/Infinity, no escapes in dates/timestamps);
 * - length accounting: the value is exactly `{"k":v,...}` over the schema fields found, without whitespace, other
 *   fields, repeated keys, escaped keys or trailing commas. DuckDB's reader accepts things the JS decoder refuses
 *   (trailing commas, NaN, deep nesting) and keeps the first of two equal keys where the JS decoder keeps the last;
 *   all of them make the value longer than its schema fields written compactly. Re-serialised JSON text is never
 *   longer than the original, except numbers with a fraction or exponent (1E2 → 100.0): those must appear
 *   verbatim after their key in the value.
 * Anything else goes to the JS decoder, which is exact, whatever the cost.
 */

const TIMESTAMP_RE = `'[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?Z?)?'`;
const DATE_RE = `'[0-9]{4}-[0-9]{2}-[0-9]{2}'`;

/** `SELECT __i, <metadata>, <value columns>, __ok FROM <raw>` (raw: metadata, `__v` BLOB, `__i`). */
export function fastPathSql(schema: ValueSchema, raw: string, metadata: readonly string[]): string {
  const structure = `{${schema.map((c) => `"${c.name}":"JSON"`).join(',')}}`;
  const values = schema.map((c) => `${valueSql(c)} AS "${c.name}"`);
  const fields = schema.map((c) => (c.required ? `(${field(c)} IS NOT NULL AND ${fitsSql(c, field(c))})` : `(${field(c)} IS NULL OR ${fitsSql(c, field(c))})`));
  const expected = `greatest(2, 1 + ${schema.map(lengthSql).join(' + ')})`;
  const ok = [`__j IS NOT NULL`, `starts_with(__t, '{')`, ...fields, `strlen(__t) = ${expected}`].join(' AND ');
  return `SELECT __i, ${metadata.join(', ')}, ${values.join(', ')}, coalesce(${ok}, false) AS __ok
    FROM (SELECT *, TRY(json_transform(__t, '${structure}')) AS __j FROM (SELECT *, TRY(decode(__v)) AS __t FROM ${raw}))`;
}

function field(c: ColumnSpec): string {
  return `__j."${c.name}"`;
}

/** The field's own length in the compact form `"k":v,` (or `"k":null,` when json_transform made it NULL). */
function lengthSql(c: ColumnSpec): string {
  const x = field(c);
  return `(CASE WHEN ${x} IS NOT NULL THEN ${c.name.length + 4} + strlen(${x}) WHEN contains(__t, '"${c.name}":null') THEN ${c.name.length + 8} ELSE 0 END)`;
}

/** The field's JSON text (`x`, not NULL) is of a type and form the JS decoder converts to the same value. */
function fitsSql(c: ColumnSpec, x: string): string {
  const text = `${x}::VARCHAR`;
  const str = `(${x}->>'$')`;
  const canonical = (type: string) => `TRY_CAST(${text} AS ${type})::VARCHAR = ${text}`;
  switch (c.type) {
    case 'VARCHAR':
      return `starts_with(${x}, '"')`;
    case 'BOOLEAN':
      return `${text} IN ('true', 'false')`;
    case 'INTEGER':
      return canonical('INTEGER');
    case 'BIGINT':
      return canonical('BIGINT');
    case 'DOUBLE':
      return `(ascii(${text}) IN (45, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57) AND isfinite(TRY_CAST(${text} AS DOUBLE))
        AND ((NOT contains(${text}, '.') AND NOT contains(${text}, 'e')) OR contains(__t, '"${c.name}":' || ${text})))`;
    case 'DATE':
      return `(starts_with(${x}, '"') AND NOT contains(${text}, '\\') AND regexp_full_match(${str}, ${DATE_RE}) AND NOT starts_with(${str}, '0000') AND TRY_CAST(${str} AS DATE) IS NOT NULL)`;
    case 'TIMESTAMP':
      // text: plain UTC forms only (DuckDB ignores offsets and takes 24:00); numbers: whole epoch milliseconds
      return `(CASE WHEN starts_with(${x}, '"') THEN NOT contains(${text}, '\\') AND regexp_full_match(${str}, ${TIMESTAMP_RE}) AND NOT starts_with(${str}, '0000') AND TRY_CAST(${str} AS TIMESTAMP) IS NOT NULL
        ELSE ${canonical('BIGINT')} AND abs(TRY_CAST(${text} AS BIGINT)) <= 9000000000000 END)`;
    default:
      throw new Error(`column type ${c.type} has no DuckDB fast path`);
  }
}

/** The column's value from its JSON text (meaningful where `__ok`). */
function valueSql(c: ColumnSpec): string {
  const x = field(c);
  const text = `${x}::VARCHAR`;
  switch (c.type) {
    case 'VARCHAR':
      return `(${x}->>'$')`;
    case 'BOOLEAN':
      return `(${text} = 'true')`;
    case 'INTEGER':
    case 'BIGINT':
    case 'DOUBLE':
      return `TRY_CAST(${text} AS ${c.type})`;
    case 'DATE':
      return `TRY_CAST(${x}->>'$' AS DATE)`;
    case 'TIMESTAMP':
      return `(CASE WHEN starts_with(${x}, '"') THEN TRY_CAST(${x}->>'$' AS TIMESTAMP) WHEN abs(TRY_CAST(${text} AS BIGINT)) <= 9000000000000 THEN make_timestamp(TRY_CAST(${text} AS BIGINT) * 1000) END)`;
    default:
      throw new Error(`column type ${c.type} has no DuckDB fast path`);
  }
}
