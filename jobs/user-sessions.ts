// Per-user running state with timeouts (Spark's mapWithState + StateSpec.timeout): a session per user collects
// page views; a user idle for 30 s is timed out and the finished session is emitted.
//   npx duckstream run jobs/user-sessions.ts --trigger 1s
import { StateSpec, StreamingContext, seconds, sql } from 'duckstream';

interface Session {
  pages: number;
  first: string;
  last: string;
}

export default function job(ssc: StreamingContext): void {
  const views = ssc.logStream('data/logs/pageviews', { format: 'json', schema: 'ts TIMESTAMP, user_id BIGINT, url VARCHAR, status INTEGER' });
  const spec = StateSpec.function((user, view: unknown, state: { exists(): boolean; get(): Session; update(s: Session): void; isTimingOut(): boolean }) => {
    if (state.isTimingOut()) return { user_id: user, pages: state.get().pages, first: state.get().first, last: state.get().last, ended: true };
    const v = view as { ts: string };
    const s = state.exists() ? state.get() : { pages: 0, first: v.ts, last: v.ts };
    const next = { pages: s.pages + 1, first: s.first < v.ts ? s.first : v.ts, last: s.last > v.ts ? s.last : v.ts };
    state.update(next);
    return undefined; // nothing emitted until the session ends
  })
    .timeout(seconds(30))
    .types({
      output: 'STRUCT(user_id BIGINT, pages INTEGER, first VARCHAR, last VARCHAR, ended BOOLEAN)',
      state: 'STRUCT(pages INTEGER, first VARCHAR, last VARCHAR)',
    });

  const sessions = views.map(sql`user_id, {'ts': ts::VARCHAR} AS view`).mapWithState('user_id', spec);
  const ended = sessions.map(sql`value.user_id AS user_id, value.pages AS pages, value.first AS first_view, value.last AS last_view`);
  ended.print();
  ended.saveAsParquet('out/user_sessions');

  // Running page-view count per user, updated every batch (Spark's updateStateByKey).
  const perUser = views.map(sql`user_id, 1 AS n`).updateStateByKey('user_id', sql`coalesce(state, 0) + len(vals)`, { as: 'views' });
  perUser.saveToDuckDB('out/user_views.duckdb', 'user_views');
}
