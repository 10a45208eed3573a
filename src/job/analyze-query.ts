import type { Engine } from '../sql/engine.js';
import { userError } from '../errors.js';
import { forEachNode, functionCall, groupExpressions, serializeSql, tableFunction } from '../sql/parse-tree.js';

/** What a sink's query does, read from DuckDB's own parse tree (json_serialize_sql), not from regexes. */
export interface QueryAnalysis {
  /** Relations the query reads by name (sources, tables, views), lower-cased, once per reference. */
  readonly relations: readonly string[];
  /** Why the query needs state across batches; empty if it is stateless. */
  readonly stateful: readonly string[];
}

export async function analyzeQuery(engine: Engine, query: string, aggregateNames: ReadonlySet<string>): Promise<QueryAnalysis> {
  const statements = await serializeSql(engine, query);
  if (statements.length !== 1) throw new Error('a sink takes exactly one SELECT statement');
  const relations: string[] = [];
  const stateful = new Set<string>();
  forEachNode(statements[0], (node) => {
    if (node['type'] === 'BASE_TABLE' && typeof node['table_name'] === 'string') relations.push(node['table_name'].toLowerCase());
    if (groupExpressions(node).length > 0) stateful.add('GROUP BY');
    if (node['aggregate_handling'] === 'FORCE_AGGREGATES') stateful.add('GROUP BY ALL');
    const call = functionCall(node);
    if (call && aggregateNames.has(call.name.toLowerCase())) stateful.add(`aggregate ${call.name.toLowerCase()}()`);
    if (node['class'] === 'WINDOW') stateful.add(`window function ${String(node['function_name'])}() OVER (…)`);
    const tvf = tableFunction(node);
    if (tvf && WINDOW_TVFS.has(tvf.name)) stateful.add(`${tvf.name.toUpperCase()} window`);
    if (node['type'] === 'DISTINCT_MODIFIER') stateful.add('DISTINCT');
    if (node['type'] === 'LIMIT_MODIFIER' || node['type'] === 'LIMIT_PERCENT_MODIFIER') stateful.add('LIMIT');
    if (node['type'] === 'SET_OPERATION_NODE' && node['setop_all'] === false) stateful.add(`${String(node['setop_type'])} (without ALL)`);
  });
  return { relations, stateful: [...stateful] };
}

const WINDOW_TVFS = new Set(['tumble', 'hop', 'session']);

/** Names of DuckDB's aggregate functions: a call to one without OVER keeps state across batches. */
export async function aggregateFunctionNames(engine: Engine): Promise<Set<string>> {
  const rows = await engine.all(`SELECT DISTINCT lower(function_name) AS name FROM duckdb_functions() WHERE function_type = 'aggregate'`);
  return new Set(rows.map((r) => String(r['name'])));
}

/**
 * Refuse, at start and with the reason, any query the engine cannot run correctly batch by batch:
 * it must be stateless, and read exactly one streaming source (joins with static tables are fine).
 */
export function checkStatelessSink(sinkName: string, analysis: QueryAnalysis, sourceNames: ReadonlySet<string>): string {
  if (analysis.stateful.length > 0) {
    throw userError(
      `sink '${sinkName}': ${analysis.stateful.join(', ')} needs state across batches, and stateful streaming SQL (aggregations, windows, DISTINCT, LIMIT) is not supported by this version — running it batch by batch would give wrong results`,
      'keep the sink query to projections, filters, functions and joins with static tables; write the rows to Parquet and aggregate them in a notebook',
    );
  }
  const streams = analysis.relations.filter((r) => sourceNames.has(r));
  if (streams.length === 0)
    throw userError(`sink '${sinkName}': the query reads no source`, `select FROM one of the job's sources: ${[...sourceNames].join(', ')}`);
  if (streams.length > 1) {
    throw userError(
      `sink '${sinkName}': joins streams (${streams.join(' with ')}); a stream–stream join needs state and is not supported by this version`,
      "join a stream with a static table (CREATE TABLE … WITH (connector = 'parquet', …)) instead",
    );
  }
  return streams[0]!;
}
