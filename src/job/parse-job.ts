import { createHash } from 'node:crypto';
import { basename, extname } from 'node:path';
import { userError } from '../errors.js';
import { splitStatements } from './split-statements.js';

export type Options = Readonly<Record<string, string>>;

export interface SourceDef {
  readonly name: string;
  readonly options: Options;
  /** Columns declared in a list after the name (`CREATE SOURCE s (a INT, b VARCHAR) WITH …`). */
  readonly columns: string | undefined;
  readonly line: number;
}

export interface TableDef {
  readonly name: string;
  readonly options: Options;
  readonly line: number;
}

export interface SinkDef {
  readonly name: string;
  readonly options: Options;
  readonly query: string;
  readonly line: number;
}

/** A job file, parsed: the DDL around the queries is ours; the queries themselves are DuckDB SQL. */
export interface JobDef {
  readonly name: string;
  readonly file: string;
  readonly sources: readonly SourceDef[];
  readonly tables: readonly TableDef[];
  readonly sinks: readonly SinkDef[];
  /** Other statements (CREATE MACRO/VIEW, SET …), run once at start. */
  readonly setup: readonly string[];
  readonly sourcesHash: string;
  readonly jobHash: string;
}

const HEADER = /^CREATE\s+(?:OR\s+REPLACE\s+)?(SOURCE|SINK|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s*/i;

export function parseJob(text: string, file: string): JobDef {
  const sources: SourceDef[] = [];
  const tables: TableDef[] = [];
  const sinks: SinkDef[] = [];
  const setup: string[] = [];
  for (const stmt of splitStatements(text)) {
    const where = `${file}:${stmt.line}`;
    const header = HEADER.exec(stmt.text);
    if (!header) {
      setup.push(stmt.text);
      continue;
    }
    const kind = header[1]!.toUpperCase();
    const name = unquoteIdent(header[2]!);
    let rest = stmt.text.slice(header[0].length);
    let columns: string | undefined;
    if (kind === 'SOURCE' && rest.startsWith('(')) {
      const end = matchingParen(rest, 0, where);
      columns = rest.slice(1, end).trim();
      rest = rest.slice(end + 1).trimStart();
    }
    const withMatch = /^WITH\s*\(/i.exec(rest);
    if (!withMatch) {
      if (kind === 'TABLE') {
        setup.push(stmt.text); // an ordinary DuckDB CREATE TABLE
        continue;
      }
      throw userError(
        `${where}: CREATE ${kind} ${name} needs WITH (connector = '…', …)`,
        `write e.g. CREATE ${kind} ${name} WITH (connector = '${kind === 'SINK' ? 'parquet' : 'log'}', path = '…')`,
      );
    }
    const open = withMatch[0].length - 1;
    const close = matchingParen(rest, open, where);
    const options = parseOptions(rest.slice(open + 1, close), where);
    rest = rest.slice(close + 1).trim();
    if (kind === 'SINK') {
      const as = /^AS\s+/i.exec(rest);
      if (!as) throw userError(`${where}: sink '${name}' has no query`, `end it with AS SELECT … FROM <source>`);
      sinks.push({ name, options, query: rest.slice(as[0].length).trim(), line: stmt.line });
    } else {
      if (rest.length > 0) throw userError(`${where}: unexpected text after WITH (…): '${rest.slice(0, 40)}'`, 'end the statement with ;');
      if (kind === 'SOURCE') sources.push({ name, options, columns, line: stmt.line });
      else tables.push({ name, options, line: stmt.line });
    }
  }
  checkNames(file, sources, tables, sinks);
  const sourcesHash = hash(sources.map((s) => ({ name: s.name, options: pickSourceIdentity(s.options), columns: s.columns ?? null })));
  const jobHash = hash({ sources, tables, sinks, setup });
  return { name: basename(file, extname(file)), file, sources, tables, sinks, setup, sourcesHash, jobHash };
}

/** `key = 'value', key2 = 42` → { key: 'value', key2: '42' }. Keys are case-insensitive (lower-cased). */
function parseOptions(body: string, where: string): Record<string, string> {
  const options: Record<string, string> = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*('(?:[^']|'')*'|-?[0-9][0-9.]*|[A-Za-z_][A-Za-z0-9_]*)\s*(,|$)/y;
  let pos = 0;
  while (pos < body.length && body.slice(pos).trim().length > 0) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m)
      throw userError(`${where}: cannot read option near '${body.slice(pos).trim().slice(0, 40)}'`, `write options as key = 'value', separated by commas`);
    const key = m[1]!.toLowerCase();
    const raw = m[2]!;
    if (key in options) throw userError(`${where}: option '${key}' is given twice`);
    options[key] = raw.startsWith("'") ? raw.slice(1, -1).replaceAll("''", "'") : raw;
    pos = re.lastIndex;
  }
  return options;
}

function matchingParen(text: string, open: number, where: string): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      i = text.indexOf("'", i + 1);
      while (i !== -1 && text[i + 1] === "'") i = text.indexOf("'", i + 2);
      if (i === -1) break;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw userError(`${where}: unbalanced parentheses`);
}

function unquoteIdent(s: string): string {
  return s.startsWith('"') ? s.slice(1, -1).replaceAll('""', '"') : s;
}

function checkNames(file: string, sources: SourceDef[], tables: TableDef[], sinks: SinkDef[]): void {
  const seen = new Map<string, string>();
  for (const [kind, defs] of [
    ['source', sources],
    ['table', tables],
    ['sink', sinks],
  ] as const) {
    for (const d of defs) {
      const key = d.name.toLowerCase();
      const before = seen.get(key);
      if (before) throw userError(`${file}:${d.line}: the name '${d.name}' is used by a ${before} already`, 'give every source, table and sink its own name');
      seen.set(key, kind);
    }
  }
  if (sources.length === 0)
    throw userError(
      `${file}: the job has no CREATE SOURCE`,
      `add e.g. CREATE SOURCE events WITH (connector = 'log', path = 'data/logs/events', format = 'json');`,
    );
  if (sinks.length === 0)
    throw userError(`${file}: the job has no CREATE SINK`, `add e.g. CREATE SINK out WITH (connector = 'console') AS SELECT * FROM ${sources[0]!.name};`);
}

/** The options that say which data a source reads: change one and stored offsets no longer apply. */
function pickSourceIdentity(options: Options): Record<string, string | undefined> {
  return { connector: options['connector'] ?? 'log', path: options['path'], topic: options['topic'], brokers: options['brokers'] };
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
