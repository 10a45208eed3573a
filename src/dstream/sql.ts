import { ident, literal } from '../sql/engine.js';

/** A piece of DuckDB SQL (an expression, a select list or a query), built with the `sql` tag. */
const BRAND = Symbol.for('duckstream.sql');

export class Sql {
  /** Marks Sql values across copies of the module (a job importing `duckstream` from dist, tests from src). */
  readonly [BRAND] = true;

  /** Use the `sql` tag or `Sql.raw` instead. */
  private constructor(readonly text: string) {}

  /** SQL text taken as is (no quoting): for text you wrote yourself, never for user input. */
  static raw(text: string): Sql {
    return new Sql(text);
  }

  toString(): string {
    return this.text;
  }
}

/** What may appear inside `${…}` of the `sql` tag. */
export type SqlValue = Sql | string | number | bigint | boolean | null | Date;

/**
 * The `sql` tag: ``sql`word, 1 AS n` `` or ``sql`status >= ${min}` ``. Interpolated `Sql` (from `sql`, `col`,
 * or a relation handed to `transform`) is inlined; strings become string literals, numbers and booleans SQL
 * literals, so values never need escaping by hand.
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): Sql {
  let text = strings[0] ?? '';
  values.forEach((v, i) => {
    text += toSqlText(v) + (strings[i + 1] ?? '');
  });
  return Sql.raw(text);
}

/** A column (or any identifier), quoted: ``sql`${col('user id')} IS NOT NULL` ``. */
export function col(name: string): Sql {
  return Sql.raw(ident(name));
}

function toSqlText(v: SqlValue): string {
  if (isSql(v)) return v.text;
  if (v === null) return 'NULL';
  if (typeof v === 'string') return literal(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return `${v}::BIGINT`;
  if (v instanceof Date) return `TIMESTAMP ${literal(v.toISOString().replace('T', ' ').replace('Z', ''))}`;
  if (!Number.isFinite(v)) throw new TypeError(`sql: cannot inline ${v}`);
  return String(v);
}

export function isSql(v: unknown): v is Sql {
  return v instanceof Sql || (typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[BRAND] === true);
}
