import { expressionSql } from '../../sql/parse-tree.js';
import { DedupOperator } from '../dedup-operator.js';
import type { Planner } from '../planning-types.js';
import { distinctOnTargets } from '../query-shape.js';
import { replaceIdent, replaceStreams } from '../stream-refs.js';

/** `SELECT DISTINCT ON (k…) … FROM <one stream>`: the first row per key, final once the watermark passes it. */
export const planDedup: Planner = async (ctx) => {
  const { engine, tree } = ctx;
  const distinctOn = distinctOnTargets(tree);
  if (ctx.directRefs.length !== 1 || ctx.analysis.stateful.length === 0 || distinctOn.length === 0 || !ctx.onlyDistinct) return undefined;
  const info = ctx.byName.get(ctx.directRefs[0]!)!;
  const keySql = await Promise.all(distinctOn.map((k) => expressionSql(engine, k)));
  const { sql, placeholders } = await replaceStreams(engine, tree, ctx.streamNames);
  const template = (relation: string) => placeholders.reduce((s, p) => replaceIdent(s, p.token, relation), sql);
  return new DedupOperator(ctx.sink.name, info.name, keySql, info.eventTimeSql!, info.delayMs, template, []);
};
