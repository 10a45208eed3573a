/**
 * Helpers for the AMQP connector tests, against the real RabbitMQ of the machine (127.0.0.1:5672 guest/guest).
 * Producers here use amqplib the way any application would (confirm channels: a message counts as sent once the
 * broker confirmed it), so the tests check interop with the broker's semantics, not with our own writer.
 */
import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel, type Options } from 'amqplib';
import { describe, it } from 'vitest';

export const RABBIT_URL = 'amqp://guest:guest@127.0.0.1:5672';

async function probe(): Promise<string | undefined> {
  try {
    const c = await amqp.connect(RABBIT_URL, { timeout: 2000 });
    await c.close();
    return undefined;
  } catch (err) {
    return `RabbitMQ is not reachable at 127.0.0.1:5672 (${(err as Error).message}): start it (Debian: apt-get install rabbitmq-server; service rabbitmq-server start)`;
  }
}

const unavailable = await probe();

/** describe() when RabbitMQ is reachable; else skipped with the reason, or a failing test under CI=true. */
export function describeRabbit(name: string, fn: () => void): void {
  if (!unavailable) describe(name, fn);
  else if (process.env.CI === 'true')
    describe(name, () => {
      it('has RabbitMQ (CI=true)', () => {
        throw new Error(unavailable);
      });
    });
  else describe.skip(`${name} (skipped: ${unavailable})`, fn);
}

export function randomQueue(prefix: string): string {
  return `ds-test-${prefix}-${randomBytes(5).toString('hex')}`;
}

export interface TestMessage {
  readonly body: string | Buffer;
  readonly options?: Options.Publish;
}

/** A connection for a test: declares stream queues, publishes with confirms, deletes what it declared on close. */
export class Rabbit {
  private readonly declared: string[] = [];
  private constructor(readonly conn: ChannelModel) {}

  static async open(url = RABBIT_URL): Promise<Rabbit> {
    return new Rabbit(await amqp.connect(url));
  }

  async stream(name: string, args: Record<string, unknown> = {}): Promise<string> {
    const ch = await this.conn.createChannel();
    await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'stream', ...args } });
    await ch.close();
    this.declared.push(name);
    return name;
  }

  async queue(name: string, type: 'classic' | 'quorum' = 'classic'): Promise<string> {
    const ch = await this.conn.createChannel();
    await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': type } });
    await ch.close();
    this.declared.push(name);
    return name;
  }

  /** Publish to a queue (default exchange) on a confirm channel and wait until the broker confirmed every message. */
  async publish(queue: string, messages: readonly TestMessage[]): Promise<void> {
    const ch = await this.conn.createConfirmChannel();
    for (const m of messages) {
      if (!ch.sendToQueue(queue, Buffer.isBuffer(m.body) ? m.body : Buffer.from(m.body), { persistent: true, ...m.options }))
        await new Promise((r) => ch.once('drain', r));
    }
    await ch.waitForConfirms();
    await ch.close();
  }

  async close(): Promise<void> {
    const ch = await this.conn.createChannel();
    for (const q of this.declared) await ch.deleteQueue(q).catch(() => undefined);
    await this.conn.close().catch(() => undefined);
  }
}
