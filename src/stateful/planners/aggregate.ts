import { AggregateOperator } from '../aggregate-operator.js';
import type { Planner } from '../planning-types.js';
import { referencedColumns, replaceIdent } from '../stream-refs.js';
import { streamsOf } from './streams-of.js';

/** Any other stateful query (the last planner tried): re-evaluated each batch over every kept on-time row. */
export const planAggregate: Planner = async (ctx) => {
  const { sql, refs } = await ctx.streamRefs();
  const template = (relation: (source: string) => string) => refs.reduce((s, r) => replaceIdent(s, r.token, relation(r.source)), sql);
  return new AggregateOperator(ctx.sink.name, ctx.aggregateMode!, streamsOf(refs, ctx.sources), template, ctx.keys, referencedColumns(ctx.tree));
};
