import { Lander, type LanderOptions, type LanderStats } from './lander.js';
import type { BrokerFeed } from './landing-source.js';

/**
 * `duckstream ingest`: land a broker's messages into `dir` until `signal` aborts (or the feed fails), for jobs that
 * read that log with `connector = 'log'`. `onStarted` is called once the feed consumes. Resolves with the lander's counts; rejects with the feed's failure.
 */
export async function runIngest(dir: string, feed: BrokerFeed, options: LanderOptions, signal: AbortSignal, onStarted?: () => void): Promise<LanderStats> {
  const lander = await Lander.open(dir, options);
  let failure: Error | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const stopOn = (err?: Error): void => {
        failure ??= err;
        resolve();
      };
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => stopOn(), { once: true });
      feed.start(lander, stopOn).then(() => onStarted?.(), reject);
    });
  } finally {
    await feed.stop().catch(() => undefined);
    await lander.close();
  }
  if (failure) throw failure;
  return lander.stats;
}
