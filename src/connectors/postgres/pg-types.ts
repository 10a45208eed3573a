import { ident } from '../../sql/engine.js';

/**
 * How one DuckDB column of a batch reaches PostgreSQL: the column type the sink creates (spelt as PostgreSQL's
 * `format_type` prints it, so that an existing table's columns compare as text), and the DuckDB expression whose
 * CSV text PostgreSQL's `COPY … (FORMAT csv)` reads back as that type.
 */
export interface PgColumn {
  readonly name: string;
  /** The DuckDB type, as DESCRIBE spells it. */
  readonly duckType: string;
  /** The PostgreSQL type, as format_type() spells it: `bigint`, `numeric(10,2)`, `timestamp with time zone`, `text[]`. */
  readonly pgType: string;
  /** DuckDB SQL giving the column's COPY text (or the value itself where DuckDB's CSV text is already PostgreSQL's). */
  readonly exportSql: string;
  /** The CSV field must be quoted (text-like values: an unquoted `\.` would end PostgreSQL's COPY data). */
  readonly quote: boolean;
}

const SCALARS: Readonly<Record<string, string>> = {
  BOOLEAN: 'boolean',
  TINYINT: 'smallint',
  UTINYINT: 'smallint',
  SMALLINT: 'smallint',
  USMALLINT: 'integer',
  INTEGER: 'integer',
  UINTEGER: 'bigint',
  BIGINT: 'bigint',
  UBIGINT: 'numeric(20,0)',
  HUGEINT: 'numeric(39,0)',
  UHUGEINT: 'numeric(39,0)',
  VARINT: 'numeric',
  BIGNUM: 'numeric',
  FLOAT: 'real',
  DOUBLE: 'double precision',
  VARCHAR: 'text',
  BLOB: 'bytea',
  DATE: 'date',
  TIME: 'time without time zone',
  'TIME WITH TIME ZONE': 'time with time zone',
  TIMESTAMP: 'timestamp without time zone',
  TIMESTAMP_S: 'timestamp without time zone',
  TIMESTAMP_MS: 'timestamp without time zone',
  TIMESTAMP_NS: 'timestamp without time zone',
  'TIMESTAMP WITH TIME ZONE': 'timestamp with time zone',
  INTERVAL: 'interval',
  UUID: 'uuid',
  JSON: 'jsonb',
};

const TEXT_LIKE = new Set(['text', 'jsonb', 'bytea']);

type Mapped = { pgType: string; expr: (x: string) => string; quote: boolean } | undefined;

/** A DuckDB type (as DESCRIBE spells it) mapped to PostgreSQL, or undefined when the sink cannot store it. */
function mapType(duckType: string, nested: boolean): Mapped {
  const t = duckType.trim();
  const list = /^(.*)\[(\d*)\]$/s.exec(t);
  if (list) {
    const inner = list[1]!;
    const element = nested || /\]$/.test(inner) || /^(STRUCT|MAP|UNION)\(/i.test(inner) ? undefined : mapType(inner, true);
    // A list of lists or structs has no rectangular PostgreSQL array: it becomes jsonb, as structs do.
    if (element === undefined || element.pgType === 'jsonb') return nested ? undefined : jsonb();
    return {
      pgType: `${element.pgType}[]`,
      quote: true,
      // PostgreSQL's array literal: every element double-quoted with \ and " escaped, NULL bare.
      expr: (x) =>
        `CASE WHEN ${x} IS NULL THEN NULL ELSE '{' || array_to_string(list_transform(${list[2] ? `${x}::${inner}[]` : x}, lambda __ds_e: CASE WHEN __ds_e IS NULL THEN 'NULL' ELSE '"' || replace(replace((${element.expr('__ds_e')})::VARCHAR, '\\', '\\\\'), '"', '\\"') || '"' END), ',') || '}' END`,
    };
  }
  if (/^(STRUCT|MAP|UNION)\(/i.test(t)) return nested ? undefined : jsonb();
  if (/^ENUM\(/i.test(t)) return { pgType: 'text', expr: (x) => `${x}::VARCHAR`, quote: true };
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/i.exec(t);
  if (decimal) return { pgType: `numeric(${decimal[1]},${decimal[2]})`, expr: (x) => x, quote: false };
  const upper = t.toUpperCase();
  const pgType = SCALARS[upper];
  if (pgType === undefined) return undefined;
  if (upper === 'BLOB') return { pgType, expr: (x) => `'\\x' || hex(${x})`, quote: true };
  if (upper === 'TIMESTAMP_NS') return { pgType, expr: (x) => `${x}::TIMESTAMP`, quote: false };
  if (upper === 'JSON') return { pgType, expr: (x) => `${x}::VARCHAR`, quote: true };
  return { pgType, expr: (x) => x, quote: TEXT_LIKE.has(pgType) };
}

function jsonb(): Mapped {
  return { pgType: 'jsonb', expr: (x) => `to_json(${x})::VARCHAR`, quote: true };
}

/** The batch's columns mapped to PostgreSQL; `unsupported` lists the ones that cannot be (name and DuckDB type). */
export function mapColumns(columns: readonly { name: string; type: string }[]): { columns: PgColumn[]; unsupported: string[] } {
  const out: PgColumn[] = [];
  const unsupported: string[] = [];
  for (const c of columns) {
    const m = mapType(c.type, false);
    if (m === undefined) {
      unsupported.push(`${c.name} ${c.type}`);
      continue;
    }
    out.push({ name: c.name, duckType: c.type, pgType: m.pgType, exportSql: m.expr(ident(c.name)), quote: m.quote });
  }
  return { columns: out, unsupported };
}

const INTEGER_WIDTH: Readonly<Record<string, number>> = { smallint: 1, integer: 2, bigint: 3, numeric: 4 };

/**
 * Whether a table column of type `actual` (format_type's spelling) takes the values of a query column mapped to
 * `expected` without loss: the same type, or a wider one of the same kind (integer into bigint, text into varchar,
 * numeric(p,s) into unconstrained numeric, jsonb into json, real into double precision), element-wise for arrays.
 */
export function compatible(expected: string, actual: string): boolean {
  if (expected === actual) return true;
  const ea = expected.endsWith('[]');
  const aa = actual.endsWith('[]');
  if (ea || aa) return ea && aa && compatible(expected.slice(0, -2), actual.slice(0, -2));
  if (expected === 'text') return actual === 'character varying' || actual.startsWith('character varying(');
  if (expected === 'jsonb') return actual === 'json';
  if (expected === 'real') return actual === 'double precision';
  const dec = /^numeric\((\d+),(\d+)\)$/.exec(expected);
  if (dec) {
    if (actual === 'numeric') return true;
    const a = /^numeric\((\d+),(\d+)\)$/.exec(actual);
    return a !== null && Number(a[2]) === Number(dec[2]) && Number(a[1]) >= Number(dec[1]);
  }
  const e = INTEGER_WIDTH[expected];
  const a = actual.startsWith('numeric') ? (actual === 'numeric' ? 4 : undefined) : INTEGER_WIDTH[actual];
  return e !== undefined && a !== undefined && a > e;
}
