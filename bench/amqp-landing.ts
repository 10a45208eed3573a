/**
 * Landing throughput of the AMQP source for classic queues (issue 15 "Benchmarks"): messages/s consumed from a
 * classic queue by the landing feed (durable append, then basic.ack) against the same amqplib consumer acking each
 * message without landing, in the same run, alternating baseline and landing rounds. The queue is filled first
 * (publisher confirms), so both sides drain the same backlog. Needs RabbitMQ on 127.0.0.1:5672.
 * Run: npm run build && node dist/bench/main.js amqp-landing [messages per round] [rounds] [prefetch]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import amqp from 'amqplib';
import { AmqpFeed } from '../src/connectors/amqp/amqp-feed.js';
import { Lander } from '../src/landing/index.js';

const total = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 2);
const prefetch = Number(process.argv[4] ?? 500);
const url = 'amqp://guest:guest@127.0.0.1:5672';
const root = mkdtempSync(join(tmpdir(), 'ds-bench-amqp-land-'));

async function fill(conn: amqp.ChannelModel, queue: string): Promise<void> {
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
  for (let i = 0; i < total; i++) {
    const body = Buffer.from(JSON.stringify({ n: i, sensor: `s-${i % 100}`, value: (i % 997) * 1.25 }));
    if (!ch.sendToQueue(queue, body, { persistent: true, messageId: `m-${i}` })) await new Promise((r) => ch.once('drain', r));
  }
  await ch.waitForConfirms();
  await ch.close();
}

async function rawRound(conn: amqp.ChannelModel, queue: string): Promise<number> {
  const ch = await conn.createChannel();
  await ch.prefetch(prefetch);
  let n = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    void ch.consume(queue, (m) => {
      if (!m) return;
      ch.ack(m);
      if (++n === total) resolve();
    });
  });
  const ms = performance.now() - t0;
  await ch.close();
  return ms;
}

async function landingRound(queue: string, round: number): Promise<number> {
  const lander = await Lander.open(join(root, `landed-${round}`), { what: 'bench' });
  const feed = new AmqpFeed({ what: 'bench', url, queue, prefetch, connectionTimeoutMs: 5000, heartbeatS: 30, reconnectMs: 200 });
  const t0 = performance.now();
  await feed.start(lander, (err) => {
    throw err;
  });
  while (lander.stats.landed < total) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - t0;
  await feed.stop();
  await lander.close();
  return ms;
}

async function main(): Promise<void> {
  const conn = await amqp.connect(url);
  const queue = `ds-bench-land-${randomBytes(4).toString('hex')}`;
  const results: { raw: number; landing: number }[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      await fill(conn, queue);
      const raw = await rawRound(conn, queue);
      await fill(conn, queue);
      const landing = await landingRound(queue, r);
      results.push({ raw: Math.round(total / (raw / 1000)), landing: Math.round(total / (landing / 1000)) });
    }
  } finally {
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue).catch(() => undefined);
    await conn.close();
    rmSync(root, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const raw = median(results.map((r) => r.raw));
  const landing = median(results.map((r) => r.landing));
  console.log(
    JSON.stringify(
      { messages: total, rounds, prefetch, perRound: results, rawAckPerSec: raw, landingPerSec: landing, ratio: Math.round((landing / raw) * 100) / 100 },
      null,
      2,
    ),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
