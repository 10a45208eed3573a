import { userError } from '../errors.js';
import type { Engine } from '../sql/engine.js';
import { columnRef, expressionSql, forEachNode, tableFunction, type TreeNode } from '../sql/parse-tree.js';
import { referencedColumns } from './window-columns.js';

export type WindowKind = 'tumble' | 'hop' | 'session';

/** One `TUMBLE(src, ts, size)` / `HOP(src, ts, slide, size)` / `SESSION(src, ts, gap [, key…])` in a query. */
export interface WindowTvf {
  readonly kind: WindowKind;
  /** The stream it windows. */
  readonly source: string;
  /** The alias it is known by in the query (the source name when none is given). */
  readonly alias: string;
  /** Event-time expression, as SQL over the source's columns. */
  readonly timeSql: string;
  /** Window size (tumble, hop) or gap (session), in microseconds. */
  readonly sizeUs: bigint;
  /** Hop slide in microseconds (equal to size for tumble). */
  readonly slideUs: bigint;
  /** Session key expressions. */
  readonly keySql: readonly string[];
  /** The TABLE_FUNCTION node, to be replaced by the expansion. */
  readonly node: TreeNode;
  /**
   * Lower-case names the whole query may read from source rows (see referencedColumns): state keeps only these
   * columns. Undefined: keep every column.
   */
  readonly columns: ReadonlySet<string> | undefined;
}

const KINDS = new Set<WindowKind>(['tumble', 'hop', 'session']);

/** Find the window TVFs of a parsed query, with their arguments evaluated. */
export async function findWindowTvfs(engine: Engine, tree: TreeNode, streams: ReadonlySet<string>, sinkName: string): Promise<WindowTvf[]> {
  const nodes: { node: TreeNode; kind: WindowKind; args: TreeNode[] }[] = [];
  forEachNode(tree, (node) => {
    const fn = tableFunction(node);
    if (fn && KINDS.has(fn.name as WindowKind)) nodes.push({ node, kind: fn.name as WindowKind, args: fn.args });
  });
  const out: Omit<WindowTvf, 'columns'>[] = [];
  for (const { node, kind, args } of nodes) {
    const usage = {
      tumble: 'TUMBLE(source, time_column, INTERVAL size)',
      hop: 'HOP(source, time_column, INTERVAL slide, INTERVAL size)',
      session: 'SESSION(source, time_column, INTERVAL gap [, key …])',
    }[kind];
    const first = args[0];
    const names = columnRef(first);
    if (!names || names.length !== 1 || !streams.has(names[0]!.toLowerCase())) {
      throw userError(
        `sink '${sinkName}': the first argument of ${kind.toUpperCase()} must name a source of the job (${[...streams].join(', ')})`,
        `write ${usage}`,
      );
    }
    const minArgs = kind === 'hop' ? 4 : 3;
    if (args.length < minArgs || (kind !== 'session' && args.length !== minArgs)) throw userError(`sink '${sinkName}': ${kind.toUpperCase()} takes ${usage}`);
    const source = names[0]!;
    const timeSql = await expressionSql(engine, args[1]!);
    const a = await intervalUs(engine, args[2]!, sinkName, kind);
    const b = kind === 'hop' ? await intervalUs(engine, args[3]!, sinkName, kind) : a;
    const [slideUs, sizeUs] = kind === 'hop' ? [a, b] : [a, a];
    if (kind === 'hop' && sizeUs % slideUs !== 0n) {
      throw userError(
        `sink '${sinkName}': HOP size must be a whole multiple of its slide (got slide ${slideUs / 1000n} ms, size ${sizeUs / 1000n} ms)`,
        'pick a size that is N × slide',
      );
    }
    const keySql = kind === 'session' ? await Promise.all(args.slice(3).map((k) => expressionSql(engine, k))) : [];
    const alias = String(node['alias'] ?? '') || source;
    out.push({ kind, source, alias, timeSql, sizeUs, slideUs, keySql, node });
  }
  const columns = out.length > 0 ? referencedColumns(tree, [...new Set(out.map((t) => t.source))]) : undefined;
  return out.map((t) => ({ ...t, columns }));
}

async function intervalUs(engine: Engine, expr: TreeNode, sinkName: string, kind: string): Promise<bigint> {
  const sql = await expressionSql(engine, expr);
  let us: bigint;
  try {
    const [row] = await engine.all(`SELECT epoch_us(TIMESTAMP '1970-01-01' + (${sql})::INTERVAL)::BIGINT AS us`);
    us = BigInt(String(row?.['us']));
  } catch (err) {
    throw userError(`sink '${sinkName}': ${kind.toUpperCase()} needs an interval, got ${sql}`, "write it as INTERVAL '10 seconds'", err);
  }
  if (us <= 0n) throw userError(`sink '${sinkName}': ${kind.toUpperCase()} interval must be positive, got ${sql}`);
  return us;
}

/**
 * The rows of `relation` with `window_start`, `window_end` added, as the TVF defines them (Flink's semantics,
 * windows aligned to the epoch). `where` filters on the window columns, `rowWhere` the rows before expansion.
 */
export function windowExpansionSql(w: WindowTvf, relation: string, where = '', rowWhere = ''): string {
  const t = `(${w.timeSql})`;
  const us = `epoch_us(${t})`;
  const filter = where ? ` WHERE ${where}` : '';
  if (rowWhere) relation = `(SELECT * FROM ${relation} WHERE ${rowWhere})`;
  switch (w.kind) {
    case 'tumble': {
      const start = `(${us} - ((${us} % ${w.sizeUs}) + ${w.sizeUs}) % ${w.sizeUs})`;
      return `SELECT * FROM (SELECT *, make_timestamp(${start}) AS window_start, make_timestamp(${start} + ${w.sizeUs}) AS window_end FROM ${relation} WHERE ${t} IS NOT NULL)${filter}`;
    }
    case 'hop': {
      const last = `(${us} - ((${us} % ${w.slideUs}) + ${w.slideUs}) % ${w.slideUs})`;
      const n = w.sizeUs / w.slideUs;
      return (
        `SELECT * FROM (SELECT * EXCLUDE (__ds_last, __ds_k), make_timestamp(__ds_last - __ds_k * ${w.slideUs}) AS window_start, ` +
        `make_timestamp(__ds_last - __ds_k * ${w.slideUs} + ${w.sizeUs}) AS window_end ` +
        `FROM (SELECT *, ${last} AS __ds_last FROM ${relation} WHERE ${t} IS NOT NULL) CROSS JOIN range(0, ${n}) AS __ds_r(__ds_k))${filter}`
      );
    }
    case 'session': {
      const part = w.keySql.length > 0 ? `PARTITION BY ${w.keySql.join(', ')} ` : '';
      const gap = `to_microseconds(${w.sizeUs})`;
      return (
        `SELECT * FROM (SELECT * EXCLUDE (__ds_new, __ds_sid), min(${t}) OVER __ds_w AS window_start, max(${t}) OVER __ds_w + ${gap} AS window_end FROM ` +
        `(SELECT *, sum(__ds_new) OVER (${part}ORDER BY ${t} ROWS UNBOUNDED PRECEDING) AS __ds_sid FROM ` +
        `(SELECT *, CASE WHEN ${t} - lag(${t}) OVER (${part}ORDER BY ${t}) <= ${gap} THEN 0 ELSE 1 END AS __ds_new FROM ${relation} WHERE ${t} IS NOT NULL)) ` +
        `WINDOW __ds_w AS (${w.keySql.length > 0 ? `PARTITION BY ${w.keySql.join(', ')}, __ds_sid` : 'PARTITION BY __ds_sid'}))${filter}`
      );
    }
  }
}

/** Start of the last window holding a row (microseconds), for TUMBLE and HOP: the row's slide boundary. */
export function lastWindowStartUs(t: WindowTvf): string {
  const us = `epoch_us((${t.timeSql}))`;
  return `(${us} - ((${us} % ${t.slideUs}) + ${t.slideUs}) % ${t.slideUs})`;
}
