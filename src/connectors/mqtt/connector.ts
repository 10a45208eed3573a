import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { userError } from '../../errors.js';
import { declaredSchema, timestampColumns } from '../../format/declared-schema.js';
import { LandingSource } from '../../landing/index.js';
import { sourceFactory, type Connector } from '../connector.js';
import { MQTT_ID_WINDOW, MqttFeed, type MqttFeedOptions } from './mqtt-feed.js';
import { mqttSourceOptions, type MqttClientOptions } from './options.js';

/**
 * `connector = 'mqtt'` (docs/connectors/mqtt.md): an MQTT 3.1.1/5 subscription whose messages are landed in an
 * embedded log (src/landing/) and acknowledged only once durable; the job reads that log, so batches replay exactly.
 * `_key` is the MQTT topic a message was published on; `_topic` the landing log's name, `_offset` its offset.
 */
export const mqttConnector: Connector = {
  name: 'mqtt',
  source: sourceFactory({
    options: mqttSourceOptions,
    hints: { url: "'mqtt://127.0.0.1:1883'", topic: "'sensors/#'" },
    create: async (def, o, ctx) => {
      const what = `source '${def.name}'`;
      let landingDir: string;
      if (o.landing_path !== undefined) landingDir = resolve(o.landing_path);
      else if (ctx.checkpointDir !== undefined) landingDir = resolve(ctx.checkpointDir, 'landing', def.name);
      else throw userError(`${what}: connector 'mqtt' needs a landing_path here (no checkpoint to land under)`, "add landing_path = '<dir>'");
      const schema = declaredSchema(def.name, o.format, def.columns ?? o.schema);
      return LandingSource.open(def.name, {
        landingDir,
        feed: new MqttFeed(mqttFeedOptions(what, o, landingDir)),
        lander: { what, dedupeWindow: o.dedupe_window, brokerIdWindow: MQTT_ID_WINDOW, ...(o.dedupe_key !== undefined ? { dedupeKey: o.dedupe_key } : {}) },
        format: o.format,
        schema,
        maxValueBytes: o.max_value_bytes,
        timestampColumns: timestampColumns(o.event_time),
      });
    },
  }),
};

/**
 * The feed's options: a persistent session (`clean = false`) needs a client id that stays the same across restarts;
 * without `client_id` it is derived from the landing directory (one per job and source).
 */
export function mqttFeedOptions(what: string, o: MqttClientOptions, landingDir: string): MqttFeedOptions {
  const clientId = o.client_id ?? `duckstream-${createHash('sha1').update(landingDir).digest('hex').slice(0, 12)}`;
  let password: string | undefined;
  if (o.password_env !== undefined) {
    password = process.env[o.password_env]; // the one variable the user named (a secret)
    if (password === undefined) throw userError(`${what}: the variable ${o.password_env} (password_env) is not set`, `export ${o.password_env}=<password>`);
  }
  return { ...o, what, client_id: clientId, ...(password !== undefined ? { password } : {}) };
}
