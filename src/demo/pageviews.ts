/**
 * A realistic, deterministic page-view stream for the demo and the golden tests: users browsing a shop,
 * event times moving forward with jitter (a little out of order, as real logs are), some errors and slow pages.
 */
export interface PageView {
  ts: string;
  user_id: number;
  session_id: string;
  url: string;
  status: number;
  latency_ms: number;
  country: string;
  referrer: string | null;
  bytes: number;
}

const PAGES = ['/', '/search', '/product/{id}', '/product/{id}/reviews', '/cart', '/checkout', '/checkout/pay', '/account', '/help', '/api/recommendations'];
const COUNTRIES = ['US', 'DE', 'FR', 'GB', 'NL', 'JP', 'BR', 'IN', 'CA', 'SE'];
const REFERRERS = [null, null, null, 'https://www.google.com/', 'https://news.ycombinator.com/', 'https://duckduckgo.com/', 'newsletter'];

/** mulberry32: a tiny seeded PRNG, so the same seed always gives the same stream. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generatePageViews(count: number, seed = 42, startMs = Date.UTC(2026, 10, 1, 9, 0, 0)): PageView[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: PageView[] = [];
  let clock = startMs;
  for (let i = 0; i < count; i++) {
    clock += Math.floor(rand() * 400);
    const jitter = Math.floor(rand() * 3000) - 1500; // records arrive up to 1.5 s out of order
    const user = 1 + Math.floor(rand() * rand() * 500);
    const page = pick(PAGES).replace('{id}', String(1000 + Math.floor(rand() * 200)));
    const r = rand();
    const status = r < 0.03 ? pick([500, 502, 503, 504]) : r < 0.08 ? pick([404, 401, 429]) : r < 0.1 ? 301 : 200;
    const slow = rand() < 0.05;
    const latency = Math.round((slow ? 800 + rand() * 4000 : 15 + rand() * rand() * 400) * 10) / 10;
    out.push({
      ts: new Date(clock + jitter).toISOString(),
      user_id: user,
      session_id: `s${user}-${Math.floor((clock - startMs) / 1_800_000)}`,
      url: page,
      status,
      latency_ms: latency,
      country: COUNTRIES[user % COUNTRIES.length]!,
      referrer: pick(REFERRERS),
      bytes: 200 + Math.floor(rand() * 50_000),
    });
  }
  return out;
}

/** Lines that are not good page views: the demo shows they are dead-lettered, not dropped. */
export const BAD_LINES: readonly string[] = [
  '{"ts": "2026-11-01T09:00:05Z", "user_id": "not-a-number", "url": "/", "status": 200}',
  '{"ts": "2026-11-01T09:00:06Z", "user_id": 7, "url": "/cart", "status": 200, "latency_ms": 12.5',
  'GET /index.html HTTP/1.1',
];
