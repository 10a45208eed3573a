import { createHash } from 'node:crypto';
import { queryReads } from '../job/source-columns.js';
import { expressionSql, forEachNode, functionCall, groupExpressions, isNode, selectList, whereClause, type TreeNode } from '../sql/parse-tree.js';
import { schemaToText, type ValueSchema } from '../source/schema.js';
import type { StatefulOperator } from './operator.js';
import type { PlanContext, StateFingerprint } from './planning-types.js';

/*
 * What a stateful operator's state means, so that a restart with an edited job can tell whether the stored state
 * still fits the query (docs/architecture.md#job-evolution). Everything is normalised text from DuckDB's own parse
 * tree (whitespace, comments and keyword case do not count), so that the diff can say in words what changed.
 */

export type { StateFingerprint, WindowFingerprint } from './planning-types.js';

/** The fingerprint of a planned operator (source column types are added at start, when schemas are known). */
export async function fingerprintOf(ctx: PlanContext, op: StatefulOperator): Promise<StateFingerprint> {
  const sql = (node: TreeNode) => expressionSql(ctx.engine, node);
  const aggregateNames = await ctx.aggregates();
  const aggregates: string[] = [];
  const calls: TreeNode[] = [];
  forEachNode(ctx.tree, (node) => {
    const call = functionCall(node);
    if (call && (aggregateNames.has(call.name.toLowerCase()) || call.name === 'count_star')) calls.push(node);
  });
  for (const node of calls) aggregates.push(await sql(node));
  const where = whereClause(ctx.tree);
  const reads: Record<string, string[]> = {};
  for (const stream of op.streams) {
    const r = queryReads(ctx.tree, [stream]);
    reads[stream] = op.storesWholeRows || r.everything ? ['*'] : [...r.names].sort();
  }
  return {
    version: 1,
    // Without how it stores its state ("…, partials per pane"): a version that adds such a strategy migrates the
    // state it finds, so the meaning is the same.
    operator: op.description.split(',')[0]!,
    mode: op.mode,
    streams: [...op.streams],
    keys: [...op.keyColumns],
    windows: ctx.tvfs.map((t) => ({
      kind: t.kind.toUpperCase(),
      source: t.source,
      time: t.timeSql,
      sizeMs: Number(t.sizeUs / 1000n),
      slideMs: Number(t.slideUs / 1000n),
      keys: [...t.keySql],
    })),
    groupBy: await Promise.all(groupExpressions(ctx.tree).map(sql)),
    aggregates: [...new Set(aggregates)],
    outputs: await Promise.all(selectList(ctx.tree).map(sql)),
    filter: isNode(where) ? await sql(where) : null,
    queryHash: createHash('sha256').update(JSON.stringify(ctx.tree)).digest('hex').slice(0, 16),
    tables: [...op.stateTables, op.outputTable],
    reads,
    sourceColumns: Object.fromEntries(op.streams.map((s) => [s, null])),
  };
}

/** The fingerprint with the types of the columns its streams are read with (`name TYPE`), where schemas are known. */
export function withSourceColumns(fp: StateFingerprint, schemaOf: (stream: string) => ValueSchema | undefined): StateFingerprint {
  const sourceColumns: Record<string, string[] | null> = {};
  for (const stream of fp.streams) {
    const schema = schemaOf(stream);
    const reads = fp.reads[stream] ?? ['*'];
    sourceColumns[stream] = schema ? schema.filter((c) => reads.includes('*') || reads.includes(c.name.toLowerCase())).map((c) => schemaToText([c])) : null;
  }
  return { ...fp, sourceColumns };
}
