import type { Engine } from '../sql/engine.js';
import {
  baseTable,
  columnNameAliases,
  columnRef,
  cteEntries,
  forEachNode,
  functionCall,
  isNode,
  tableFunction,
  trySelect,
  usingColumns,
} from '../sql/parse-tree.js';
import type { JobDef } from './parse-job.js';

/*
 * Which value columns of each source a job reads, so the decoder can leave the others out of the batch (they are
 * still decoded and checked: dead letters do not depend on the queries). Read from DuckDB's parse tree, as
 * src/stateful/window-columns.ts does, and conservative: a column is pruned only when nothing in the job can name
 * it. A wrongly pruned column makes a query fail to bind; a wrongly kept one only costs time.
 */

/** Lower-cased names of the value columns the job reads from a source; undefined = every column. */
export type ReadColumns = ReadonlySet<string> | undefined;

/** What one query may read. */
export interface QueryReads {
  /** The job's sources (as declared) whose rows the query may read. */
  readonly sources: readonly string[];
  /** Every part of every column reference, lower-cased: a superset of the source columns it reads. */
  readonly names: ReadonlySet<string>;
  /** Whether it may read columns it does not name (then every column of `sources` is kept). */
  readonly everything: boolean;
}

const WINDOW_TVFS = new Set(['tumble', 'hop', 'session']);

/** Table functions that take no relation, so cannot read a source's rows (any other one might: `query_table('bid')`). */
const ROW_FREE_TABLE_FUNCTIONS = new Set([
  'range',
  'generate_series',
  'unnest',
  'read_parquet',
  'parquet_scan',
  'read_csv',
  'read_csv_auto',
  'read_json',
  'read_json_auto',
  'read_ndjson',
  'read_ndjson_auto',
]);

/**
 * What a query's parse tree (a `json_serialize_sql` statement node) may read. `everything` whenever it can see
 * columns it does not name:
 * - `*`, `t.*`, `COLUMNS(…)` (all parse as STAR), positional references (`#1`);
 * - `NATURAL` joins (they join on whatever columns the sides share); `USING (k)` adds `k`;
 * - a relation referenced as a whole row (`SELECT b FROM bid b`, `to_json(b)`);
 * - columns renamed by position (`bid AS b(x, y)`, `TUMBLE(…) AS t(x, y)`), PIVOT / UNPIVOT;
 * - a window TVF whose event time names no column;
 * - a call to one of `macros` (a macro's body may name the caller's columns: `CREATE MACRO p() AS price`).
 * A table function other than the window TVFs and a few file readers may read any source (`query_table`): the
 * query then reads every column of every source. Views and macros are not seen here: a setup statement naming a
 * source keeps all its columns (see sourceReadColumns).
 */
export function queryReads(tree: unknown, sourceNames: readonly string[], macros: ReadonlySet<string> = new Set()): QueryReads {
  const names = new Set<string>();
  const relations = new Set<string>();
  const singleRefs: string[] = [];
  const read = new Set<string>();
  const byLower = new Map(sourceNames.map((s) => [s.toLowerCase(), s]));
  let everything = false;
  let opaque = false;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (!isNode(value)) return;
    const node = value;
    const cls = node['class'];
    const type = node['type'];
    if (cls === 'STAR' || cls === 'POSITIONAL_REFERENCE' || node['ref_type'] === 'NATURAL' || type === 'PIVOT') everything = true;
    const call = functionCall(node);
    if (call && macros.has(call.name.toLowerCase())) everything = true;
    if (columnNameAliases(node).length > 0) everything = true;
    const ref = columnRef(node);
    if (ref) {
      const parts = ref.map((p) => p.toLowerCase());
      if (parts.length === 1) singleRefs.push(parts[0]!);
      for (const p of parts) names.add(p);
    }
    for (const u of usingColumns(node)) names.add(u.toLowerCase());
    if (typeof node['alias'] === 'string' && node['alias'] !== '' && isTableRef(type)) relations.add(node['alias'].toLowerCase());
    const table = baseTable(node);
    if (table) {
      const name = table.name.toLowerCase();
      relations.add(name);
      const source = byLower.get(name);
      if (source) read.add(source);
    }
    for (const cte of cteEntries(node)) relations.add(String(cte['key']).toLowerCase());
    const tvf = tableFunction(node);
    if (tvf) {
      const args = tvf.args;
      if (WINDOW_TVFS.has(tvf.name)) {
        // The first argument names the source, not a column; the second is the event time.
        const parts = columnRef(args[0]);
        const source = parts?.length === 1 ? byLower.get(parts[0]!.toLowerCase()) : undefined;
        if (parts?.length === 1) relations.add(parts[0]!.toLowerCase());
        if (source) read.add(source);
        else opaque = true;
        if (!hasColumnRef(args[1])) everything = true;
        for (const [k, v] of Object.entries(node)) if (k !== 'function') visit(v);
        for (const [k, v] of Object.entries(tvf.call)) if (k !== 'children') visit(v);
        visit(args.slice(1));
        return;
      }
      if (!ROW_FREE_TABLE_FUNCTIONS.has(tvf.name)) opaque = true;
    }
    for (const v of Object.values(node)) visit(v);
  };
  visit(tree);
  if (singleRefs.some((r) => relations.has(r))) everything = true;
  if (opaque) return { sources: [...sourceNames], names, everything: true };
  return { sources: sourceNames.filter((s) => read.has(s)), names, everything };
}

function isTableRef(type: unknown): boolean {
  return type === 'BASE_TABLE' || type === 'SUBQUERY' || type === 'TABLE_FUNCTION' || type === 'JOIN' || type === 'PIVOT' || type === 'EXPRESSION_LIST';
}

function hasColumnRef(value: unknown): boolean {
  let found = false;
  forEachNode(value, (n) => {
    if (columnRef(n)) found = true;
  });
  return found;
}

/** Whether `name` occurs in `text` as a whole word, any case (quoted or not). */
function mentions(text: string, name: string): boolean {
  const hay = text.toLowerCase();
  const needle = name.toLowerCase();
  const word = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_$]/.test(c);
  for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) {
    if (!word(hay[at - 1]) && !word(hay[at + needle.length])) return true;
  }
  return false;
}

export interface SourceColumnsOptions {
  /** Sources whose rows something outside the queries keeps whole (e.g. a stateful operator storing `SELECT *`). */
  readonly wholeRows?: Iterable<string>;
}

/**
 * Per source (as declared): the value columns the job reads, lower-cased, or undefined for all of them. Read by:
 * every sink query (and its `key` / `partition_by` options), the source's event-time expression; a source is read
 * whole when a setup statement (a view, a macro) mentions it, when it has a late-data output (late rows are written
 * with all their columns), or when `options.wholeRows` names it.
 */
export async function sourceReadColumns(engine: Engine, def: JobDef, options: SourceColumnsOptions = {}): Promise<Map<string, ReadColumns>> {
  const names = def.sources.map((s) => s.name);
  const sets = new Map<string, Set<string> | undefined>(names.map((n) => [n, new Set<string>()]));
  const keepAll = (source: string) => sets.set(source, undefined);
  const add = (source: string, columns: Iterable<string>) => {
    const set = sets.get(source);
    if (set) for (const c of columns) set.add(c.toLowerCase());
  };
  const macros = macroNames(def.setup);
  for (const s of def.sources) {
    if (s.options['late_data_path'] !== undefined) keepAll(s.name);
    const eventTime = s.options['event_time'];
    if (eventTime === undefined) continue;
    const tree = await trySelect(engine, `SELECT (${eventTime})`);
    const reads = tree ? queryReads(tree, [s.name], macros) : undefined;
    if (!reads || reads.everything) keepAll(s.name);
    else add(s.name, reads.names);
  }
  for (const stmt of def.setup) for (const n of names) if (mentions(stmt, n)) keepAll(n);
  for (const sink of def.sinks) {
    const tree = await trySelect(engine, sink.query);
    if (!tree) {
      for (const n of names) keepAll(n);
      continue;
    }
    const reads = queryReads(tree, names, macros);
    const optionColumns = ['key', 'partition_by'].flatMap((k) => sink.options[k]?.split(',').map((c) => c.trim().replace(/^"|"$/g, '')) ?? []);
    for (const source of reads.sources) {
      if (reads.everything) keepAll(source);
      else add(source, [...reads.names, ...optionColumns]);
    }
  }
  for (const s of options.wholeRows ?? []) {
    const declared = names.find((n) => n.toLowerCase() === s.toLowerCase());
    if (declared) keepAll(declared);
  }
  return sets;
}

/** Lower-cased names of the macros (and functions) the setup statements create. */
export function macroNames(setup: readonly string[]): Set<string> {
  const out = new Set<string>();
  const re =
    /\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY)\s+)?(?:MACRO|FUNCTION)\s+(?:IF\s+NOT\s+EXISTS\s+)?((?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*))*)/gi;
  for (const stmt of setup) {
    for (const m of stmt.matchAll(re)) {
      const last = m[1]!.split('.').at(-1)!.trim();
      out.add((last.startsWith('"') ? last.slice(1, -1).replaceAll('""', '"') : last).toLowerCase());
    }
  }
  return out;
}
