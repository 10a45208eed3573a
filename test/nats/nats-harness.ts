/**
 * Helpers for the NATS connector tests, against the real server on 127.0.0.1:4222 (JetStream enabled). Each test
 * makes its own stream (random name) and deletes it afterwards: test files run in parallel on one server.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { describe, it } from 'vitest';

export const NATS_PORT = 4222;
export const NATS_URL = `nats://127.0.0.1:${NATS_PORT}`;
const HINT = 'start nats-server with JetStream on 127.0.0.1:4222 (nats-server -js)';

function natsAvailable(): boolean {
  const probe = `require('net').connect(${NATS_PORT}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
  return spawnSync(process.execPath, ['-e', probe], { timeout: 5000 }).status === 0;
}

let warned = false;

/** `describe` when the server is reachable; a skip saying how to start it otherwise, and a failure under CI=true. */
export function describeNats(name: string, fn: () => void): void {
  if (natsAvailable()) describe(name, fn);
  else if (process.env['CI'] === 'true')
    describe(name, () => {
      it('has its NATS server (CI=true)', () => {
        throw new Error(`no NATS server on 127.0.0.1:${NATS_PORT}: ${HINT}`);
      });
    });
  else {
    if (!warned) {
      warned = true;
      console.warn(`[nats tests skipped] ${HINT}`);
    }
    describe.skip(`${name} [skipped: ${HINT}]`, fn);
  }
}

export function randomName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** The broker's own client, as a producer we did not write would use it: publish and await each ack. */
export interface NatsTestClient {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** A stream `name` over subjects `<name>.>`, deleted by cleanup(). */
  stream(name: string, config?: Partial<StreamConfig>): Promise<void>;
  /** Publish each message, awaiting its ack; returns the stream sequences the server assigned. */
  publish(messages: readonly { subject: string; data: string; headers?: Record<string, string> }[]): Promise<number[]>;
  cleanup(): Promise<void>;
}

export async function natsClient(): Promise<NatsTestClient> {
  const nc = await connect({ servers: NATS_URL });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const streams: string[] = [];
  return {
    nc,
    js,
    jsm,
    async stream(name, config = {}) {
      await jsm.streams.add({ name, subjects: [`${name}.>`], ...config });
      streams.push(name);
    },
    async publish(messages) {
      const seqs: number[] = [];
      for (let i = 0; i < messages.length; i += 500) {
        const acks = messages.slice(i, i + 500).map((m) => {
          const h = m.headers ? headers() : undefined;
          for (const [k, v] of Object.entries(m.headers ?? {})) h!.set(k, v);
          return js.publish(m.subject, m.data, h ? { headers: h } : {});
        });
        for (const ack of await Promise.all(acks)) seqs.push(ack.seq);
      }
      return seqs;
    },
    async cleanup() {
      for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
      await nc.close();
    },
  };
}

/** Every message now in `stream` (ordered consumer until nothing is pending), with its headers. */
export async function readStream(
  client: NatsTestClient,
  stream: string,
): Promise<{ seq: number; subject: string; data: string; headers: Record<string, string> }[]> {
  const consumer = await client.js.consumers.get(stream);
  const info = await consumer.info(true);
  const out: { seq: number; subject: string; data: string; headers: Record<string, string> }[] = [];
  if (info.num_pending === 0) return out;
  const messages = await consumer.consume({ max_messages: 1000 });
  for await (const m of messages) {
    const h: Record<string, string> = {};
    for (const [k, vs] of m.headers ?? []) h[k] = vs.join(',');
    out.push({ seq: m.seq, subject: m.subject, data: m.string(), headers: h });
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}
