import { commonSourceOptionShape } from '../source-options.js';
import { z } from 'zod';
import { positiveInt } from '../../util/whole-number.js';

const bool = z.enum(['true', 'false']).transform((s) => s === 'true');

/** What the MQTT client needs, shared by the source and `duckstream ingest mqtt://…` (docs/connectors/mqtt.md). */
export const mqttClientShape = {
  url: z.string({ error: "needs url = 'mqtt://host:1883'" }).regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'must start with mqtt://, mqtts://, ws:// or wss://'),
  /** One topic filter, or several separated by commas; MQTT wildcards `+` and `#` work. */
  topic: z.string({ error: "needs topic = 'sensors/#'" }).min(1),
  qos: z
    .enum(['0', '1', '2'])
    .default('1')
    .transform((s) => Number(s) as 0 | 1 | 2),
  client_id: z.string().min(1).max(65535).optional(),
  /** false (default): a persistent session, so QoS 1/2 messages published while the source is down are kept for it. */
  clean: bool.default(false),
  protocol_version: z
    .enum(['4', '5'])
    .default('4')
    .transform((s) => Number(s) as 4 | 5),
  username: z.string().optional(),
  /** The name of an environment variable holding the password (never the password: options land in the checkpoint). */
  password_env: z.string().optional(),
  connect_timeout_ms: positiveInt.default(10_000),
  keepalive_s: positiveInt.default(30),
  reconnect_ms: positiveInt.default(1000),
  dedupe_key: z.string().min(1).optional(),
  dedupe_window: positiveInt.default(100_000),
};

/** `CREATE SOURCE … WITH (connector = 'mqtt', …)`: every option, validated at start. */
export const mqttSourceOptions = z
  .object({
    ...mqttClientShape,
    landing_path: z.string().min(1).optional(),
    ...commonSourceOptionShape(),
  })
  .strict();

export type MqttSourceOptions = z.infer<typeof mqttSourceOptions>;

export const mqttIngestOptions = z.object(mqttClientShape).strict();
export type MqttClientOptions = z.infer<typeof mqttIngestOptions>;
