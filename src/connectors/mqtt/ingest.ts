import { resolve } from 'node:path';
import type { BrokerFeed, LanderOptions } from '../../landing/index.js';
import { parseConnectorOptions } from '../options-error.js';
import { mqttFeedOptions } from './connector.js';
import { MQTT_ID_WINDOW, MqttFeed } from './mqtt-feed.js';
import { mqttIngestOptions } from './options.js';

/** `duckstream ingest mqtt://… --to <dir>`: the same feed as the source's, options checked as the source's are. */
export function mqttIngestFeed(url: string, given: Readonly<Record<string, string>>, dir: string): { feed: BrokerFeed; lander: Omit<LanderOptions, 'what'> } {
  const what = 'duckstream ingest';
  const o = parseConnectorOptions('source', 'ingest', 'mqtt', { options: mqttIngestOptions, hints: { topic: "'sensors/#' (--topic)" } }, { url, ...given });
  return {
    feed: new MqttFeed(mqttFeedOptions(what, o, resolve(dir))),
    lander: { dedupeWindow: o.dedupe_window, brokerIdWindow: MQTT_ID_WINDOW, ...(o.dedupe_key !== undefined ? { dedupeKey: o.dedupe_key } : {}) },
  };
}
