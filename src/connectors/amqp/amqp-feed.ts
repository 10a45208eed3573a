import type { Channel, ConsumeMessage } from 'amqplib';
import { externalError } from '../../errors.js';
import type { BrokerFeed, Lander } from '../../landing/index.js';
import { asAmqpError, AmqpClient } from './client.js';
import { maskUrl } from './options.js';

export interface AmqpFeedOptions {
  /** Who lands, for messages: "source 'orders'", "duckstream ingest". */
  readonly what: string;
  readonly url: string;
  /** The classic or quorum queue consumed. */
  readonly queue: string;
  /** Unacknowledged messages in flight (basic.qos): how many one group commit can take at most. */
  readonly prefetch: number;
  readonly connectionTimeoutMs: number;
  readonly heartbeatS: number;
  /** Wait before reconnecting after the connection broke, ms. */
  readonly reconnectMs: number;
}

/**
 * A RabbitMQ classic or quorum queue landed (src/landing/): each delivery is handed to the lander and acknowledged
 * (basic.ack, manual acks) only once its append is durable, so the broker keeps every message the log does not hold
 * yet. When the connection breaks, unacknowledged deliveries return to the queue and come again with `redelivered`
 * set: the lander drops those it already holds by their `message_id` (or the user's dedupe_key). The feed then
 * reconnects by itself; acks for deliveries of a broken channel are not sent (the broker redelivers them).
 */
export class AmqpFeed implements BrokerFeed {
  private readonly client: AmqpClient;
  private channel: Channel | undefined;
  private stopped = false;
  private reconnecting: NodeJS.Timeout | undefined;

  constructor(private readonly options: AmqpFeedOptions) {
    this.client = new AmqpClient({ owner: options.what, url: options.url, connectionTimeoutMs: options.connectionTimeoutMs, heartbeatS: options.heartbeatS });
  }

  async start(lander: Lander, onError: (err: Error) => void): Promise<void> {
    await this.consume(lander, onError);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnecting);
    const ch = this.channel;
    this.channel = undefined;
    if (ch) await ch.close().catch(() => undefined);
    await this.client.close();
  }

  private async consume(lander: Lander, onError: (err: Error) => void): Promise<void> {
    const { what, queue } = this.options;
    let broken = false;
    const onBroken = () => {
      if (broken || this.stopped) return;
      broken = true;
      if (this.channel === ch) this.channel = undefined;
      this.client.reset();
      this.scheduleReconnect(lander, onError);
    };
    const ch = await this.client.channel(onBroken);
    this.channel = ch;
    try {
      await ch.checkQueue(queue);
    } catch (err) {
      throw asAmqpError(what, `queue '${queue}' on ${maskUrl(this.options.url)}`, err);
    }
    await ch.prefetch(this.options.prefetch);
    await ch.consume(
      queue,
      (m) => {
        if (m === null) return onError(externalError(`${what}: the broker cancelled the consumer of queue '${queue}' (queue deleted?)`, false));
        this.land(lander, ch, m, onError);
      },
      { noAck: false },
    );
  }

  private land(lander: Lander, ch: Channel, m: ConsumeMessage, onError: (err: Error) => void): void {
    const p = m.properties;
    const headers: [string, string][] = [];
    for (const [name, value] of Object.entries(p.headers ?? {})) {
      if (value !== undefined) headers.push([name, typeof value === 'string' ? value : JSON.stringify(value)]);
    }
    lander
      .land({
        value: new Uint8Array(m.content.buffer, m.content.byteOffset, m.content.byteLength),
        key: m.fields.routingKey,
        ...(typeof p.timestamp === 'number' ? { timestamp: p.timestamp * 1000 } : {}),
        headers,
        ...(typeof p.messageId === 'string' && p.messageId.length > 0 ? { dedupeId: `amqp:${p.messageId}` } : {}),
        redelivered: m.fields.redelivered,
      })
      .then(
        () => {
          // Durable (or a known duplicate): only now may the broker forget it. A delivery of a channel that broke
          // meanwhile is not acked (its tag means nothing on another channel): the broker redelivers it.
          if (this.channel !== ch) return;
          try {
            ch.ack(m);
          } catch {
            // the channel closed just now: the broker redelivers, the lander drops the copy
          }
        },
        (err: unknown) => onError(err as Error),
      );
  }

  private scheduleReconnect(lander: Lander, onError: (err: Error) => void): void {
    clearTimeout(this.reconnecting);
    this.reconnecting = setTimeout(() => {
      if (this.stopped) return;
      this.consume(lander, onError).catch((err: unknown) => {
        if ((err as { retriable?: boolean }).retriable === false) onError(err as Error);
        else this.scheduleReconnect(lander, onError);
      });
    }, this.options.reconnectMs);
  }
}
