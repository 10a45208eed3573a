/**
 * Landing throughput of the MQTT source (issue 15 "Benchmarks"): messages/s received at QoS 1 by the landing feed
 * (durable append, then PUBACK) against the same mqtt.js client acking without landing, in the same run,
 * alternating baseline and landing rounds. Needs Mosquitto on 127.0.0.1:1883.
 * Run: npm run build && node dist/bench/main.js mqtt-landing [messages per round] [rounds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { MqttFeed } from '../src/connectors/mqtt/mqtt-feed.js';
import { mqttIngestOptions } from '../src/connectors/mqtt/options.js';
import { Lander } from '../src/landing/index.js';

const total = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);
const url = 'mqtt://127.0.0.1:1883';
const root = mkdtempSync(join(tmpdir(), 'duckstream-mqtt-bench-'));
const payload = (i: number): string => JSON.stringify({ n: i, sensor: `s-${i % 100}`, value: (i % 997) * 1.25, ts: '2026-12-07T12:00:00.000Z' });

/** Publish `total` QoS 1 messages as fast as Mosquitto acks them (mqtt.js, its default in-flight window). */
async function publishAll(topic: string): Promise<void> {
  const pub = await mqtt.connectAsync(url, { clientId: `bench-pub-${process.pid}-${Date.now()}` });
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) sends.push(pub.publishAsync(topic, payload(i), { qos: 1 }));
  await Promise.all(sends);
  await pub.endAsync();
}

/** Messages/s from the first message received to the last one acked. */
async function timeReceive(topic: string, subscribe: (onMessage: () => void) => Promise<() => Promise<void>>): Promise<number> {
  let received = 0;
  let first = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const stop = await subscribe(() => {
    if (received++ === 0) first = performance.now();
    if (received === total) resolveDone();
  });
  await Promise.all([publishAll(topic), done]);
  const rate = total / ((performance.now() - first) / 1000);
  await stop();
  return rate;
}

async function baseline(round: number): Promise<number> {
  const topic = `ds-bench/${process.pid}/${round}/base`;
  return timeReceive(topic, async (onMessage) => {
    const client = await mqtt.connectAsync(url, { clientId: `bench-base-${process.pid}-${round}`, clean: true });
    client.handleMessage = (_packet, done) => {
      onMessage();
      done(); // PUBACK at once: no landing
    };
    await client.subscribeAsync(topic, { qos: 1 });
    return async () => void (await client.endAsync());
  });
}

async function landing(round: number): Promise<{ rate: number; appends: number }> {
  const topic = `ds-bench/${process.pid}/${round}/land`;
  const lander = await Lander.open(join(root, `land-${round}`), { what: 'bench' });
  const o = mqttIngestOptions.parse({ url, topic, qos: '1', clean: 'true' });
  const feed = new MqttFeed({ ...o, what: 'bench', client_id: `bench-land-${process.pid}-${round}` });
  let count = 0;
  let onMessage = (): void => undefined;
  // count a message once it is landed (what the PUBACK waits for)
  const counting = new Proxy(lander, {
    get(target, prop, receiver) {
      if (prop === 'land') return (m: Parameters<Lander['land']>[0]) => target.land(m).then((r) => (count++, onMessage(), r));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const rate = await timeReceive(topic, async (cb) => {
    onMessage = cb;
    await feed.start(counting, (err) => {
      throw err;
    });
    return async () => {
      await feed.stop();
      await lander.close();
    };
  });
  if (count !== total) throw new Error(`landed ${count} of ${total}`);
  return { rate, appends: lander.stats.appends };
}

const rows: string[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    const base = await baseline(r);
    const land = await landing(r);
    rows.push(
      `round ${r}: baseline ${Math.round(base)} msg/s, landing ${Math.round(land.rate)} msg/s (${land.appends} fsynced appends), ratio ${(land.rate / base).toFixed(2)}`,
    );
    process.stdout.write(`${rows.at(-1)}\n`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
