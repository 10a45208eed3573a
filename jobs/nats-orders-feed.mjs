// Feeds jobs/nats-orders.sql: creates the JetStream streams `orders` (subjects orders.<region>) and `order_alerts`
// (subject order_alerts.big) on the local server if they are missing, and publishes 1000 orders, awaiting each ack.
//   node jobs/nats-orders-feed.mjs [servers=nats://127.0.0.1:4222]
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';

const nc = await connect({ servers: process.argv[2] ?? 'nats://127.0.0.1:4222' });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
for (const [name, subjects] of [
  ['orders', ['orders.>']],
  ['order_alerts', ['order_alerts.>']],
]) {
  await jsm.streams.info(name).catch(() => jsm.streams.add({ name, subjects }));
}
const regions = ['eu', 'us', 'apac'];
const acks = [];
for (let i = 0; i < 1000; i++) {
  const h = headers();
  h.set('trace_id', `t${i}`);
  const order = { ts: new Date(Date.UTC(2026, 11, 1, 9) + i * 1000).toISOString(), customer: `c${i % 37}`, amount: (i * 7919) % 20000 };
  acks.push(js.publish(`orders.${regions[i % 3]}`, JSON.stringify(order), { headers: h }));
}
await Promise.all(acks);
console.log('published 1000 orders to stream orders');
await nc.close();
