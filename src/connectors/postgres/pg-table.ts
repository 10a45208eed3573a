import { userError } from '../../errors.js';

/** A table name as PostgreSQL reads it: `name`, `schema.name`, parts optionally "quoted"; unquoted parts fold to lower case. */
export interface PgTableName {
  readonly schema: string | undefined;
  readonly name: string;
  /** Quoted, schema-qualified when a schema was given: for SQL and for to_regclass(). */
  readonly sql: string;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function parseTableName(sink: string, text: string): PgTableName {
  const parts: string[] = [];
  let i = 0;
  const fail = (): never => {
    throw userError(
      `sink '${sink}': table = '${text}' is not a PostgreSQL table name`,
      `write table = 'name' or 'schema.name' (quote a part with "…" to keep its case or special characters)`,
    );
  };
  while (i < text.length) {
    if (text[i] === '"') {
      let part = '';
      i++;
      for (;;) {
        if (i >= text.length) fail();
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i++];
      }
      if (part === '') fail();
      parts.push(part);
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i));
      if (!m) fail();
      parts.push(m![0].toLowerCase());
      i += m![0].length;
    }
    if (i < text.length) {
      if (text[i] !== '.') fail();
      i++;
      if (i >= text.length) fail();
    }
  }
  if (parts.length === 0 || parts.length > 2) fail();
  const [schema, name] = parts.length === 2 ? [parts[0], parts[1]!] : [undefined, parts[0]!];
  return { schema, name, sql: schema === undefined ? quoteIdent(name) : `${quoteIdent(schema)}.${quoteIdent(name)}` };
}
