import { userError } from '../../errors.js';
import { AmqpFeed } from './amqp-feed.js';
import type { BrokerFeed, LanderOptions } from '../../landing/index.js';
import { parseConnectorOptions } from '../options-error.js';
import { amqpFeedOptions } from './connector.js';
import { amqpSourceOptions, parseQueues } from './options.js';

/** `duckstream ingest amqp://… --to <dir> -o queue=<classic or quorum queue>`: the source's feed, options checked as the source's are. */
export function amqpIngestFeed(url: string, given: Readonly<Record<string, string>>): { feed: BrokerFeed; lander: Omit<LanderOptions, 'what'> } {
  const what = 'duckstream ingest';
  const o = parseConnectorOptions(
    'source',
    'ingest',
    'amqp',
    { options: amqpSourceOptions, hints: { queue: "'<queue>' (-o queue=<queue>)" } },
    { queue_type: 'classic', url, ...given },
  );
  const [queue, ...more] = parseQueues('ingest', o.queue);
  if (more.length > 0 || o.queue_type === 'stream')
    throw userError(
      `${what}: lands one classic or quorum queue (got queue = '${o.queue}', queue_type = '${o.queue_type}')`,
      "a stream queue needs no landing: read it with connector = 'amqp', queue_type = 'stream'",
    );
  return { feed: new AmqpFeed(amqpFeedOptions(what, o, queue!)), lander: o.dedupe_key !== undefined ? { dedupeKey: o.dedupe_key } : {} };
}
