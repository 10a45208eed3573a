import type { Engine } from '../sql/engine.js';
import { between, columnRef, comparison, expressionSql, type TreeNode } from '../sql/parse-tree.js';
import type { SourceTimeInfo } from './planning-types.js';
import { readsOnly, type StreamRef } from './stream-refs.js';

/**
 * Per reference, the expression whose value below the watermark means no future row can join it (see DeltaJoin),
 * from the conjuncts of a two-way inner join; undefined where there is none.
 */
export async function expiryOf(engine: Engine, refs: readonly StreamRef[], sources: readonly SourceTimeInfo[]): Promise<(string | undefined)[]> {
  // With three references two old rows may still meet a new third; the conjuncts must be those of one inner join.
  const conjuncts = refs[0]?.scopeConjuncts;
  if (refs.length !== 2 || refs[0]!.scope !== refs[1]!.scope || !conjuncts) return refs.map(() => undefined);
  const out: (string | undefined)[] = [];
  for (const [i, x] of refs.entries()) {
    const y = refs[1 - i]!;
    const yTime = sources
      .find((s) => s.name.toLowerCase() === y.source.toLowerCase())
      ?.eventTimeSql?.replaceAll('"', '')
      .toLowerCase();
    const bounds: string[] = [];
    for (const [lhs, rhs] of conjuncts.flatMap(asLessOrEqual)) {
      const names = (columnRef(lhs) ?? []).map((n) => n.toLowerCase());
      const isYTime = yTime !== undefined && names.length === 2 && names[0] === y.alias.toLowerCase() && names[1] === yTime;
      if (isYTime && x.alias.toLowerCase() !== y.alias.toLowerCase() && readsOnly(rhs, x.alias.toLowerCase()))
        bounds.push(`(${await expressionSql(engine, rhs)})`);
    }
    out.push(bounds.length === 0 ? undefined : bounds.length === 1 ? bounds[0] : `least(${bounds.join(', ')})`);
  }
  return out;
}

/** A conjunct as `lhs <= rhs` pairs (`<` is kept as `<=`: dropping later is still safe). */
function asLessOrEqual(c: TreeNode): [TreeNode, TreeNode][] {
  const { left: l, right: r } = comparison(c);
  switch (c['type']) {
    case 'COMPARE_LESSTHAN':
    case 'COMPARE_LESSTHANOREQUALTO':
      return [[l, r]];
    case 'COMPARE_GREATERTHAN':
    case 'COMPARE_GREATERTHANOREQUALTO':
      return [[r, l]];
    case 'COMPARE_BETWEEN': {
      const { input, lower, upper } = between(c);
      return [
        [lower ?? {}, input ?? {}],
        [input ?? {}, upper ?? {}],
      ];
    }
    default:
      return [];
  }
}
