import type { EventTimeStats } from '../arrow/event-time-stats.js';
import { ident, type Engine } from '../sql/engine.js';

/** A TIMESTAMP literal for a watermark in ms (truncated to whole ms, as every watermark comparison sees it). */
export function timestampSql(ms: number): string {
  return `make_timestamp(${Math.trunc(ms) * 1000}::BIGINT)`;
}

/** SQL that is true for the rows of a source with event time `ets` that are not behind the watermark `wN`. */
export function onTimeSql(ets: string, wN: number | null): string {
  return wN !== null ? `(${ets}) >= ${timestampSql(wN)}` : 'true';
}

/**
 * Per partition (`topic:partition`) of the source table `name`, its max event time (ms), and its rows behind the
 * watermark `wN`: the reference that src/arrow/event-time-stats.ts must match, and what runs when it cannot.
 */
export async function queryEventTimeStats(engine: Engine, name: string, ets: string, wN: number | null): Promise<EventTimeStats> {
  const rows = await engine.all(
    `SELECT _topic || ':' || _partition AS p, epoch_ms(max(${ets}))::BIGINT AS mx, count(*) FILTER (WHERE NOT (${onTimeSql(ets, wN)}))::BIGINT AS late FROM ${ident(name)} GROUP BY ALL`,
  );
  const maxima = new Map<string, number>();
  let late = 0;
  for (const row of rows) {
    if (row['mx'] !== null && row['mx'] !== undefined) maxima.set(String(row['p']), Number(row['mx']));
    late += Number(row['late'] ?? 0);
  }
  return { maxima, late };
}
