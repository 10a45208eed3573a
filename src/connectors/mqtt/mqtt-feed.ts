import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import mqtt, { type IClientOptions, type IPublishPacket, type ISubscriptionGrant, type IStore, type MqttClient, type Packet } from 'mqtt';
import { DuckstreamError, userError } from '../../errors.js';
import type { BrokerFeed, Lander } from '../../landing/index.js';
import type { MqttClientOptions } from './options.js';

/**
 * Records whose MQTT identity is rebuilt after a restart: the broker redelivers only its in-flight window (Mosquitto's
 * max_inflight_messages, 20 by default; at most the 65,535 packet ids) and allocates packet ids in sequence, so an
 * identity older than this cannot match a redelivery, and keeping it could only drop a new message by mistake.
 */
export const MQTT_ID_WINDOW = 1000;

/** A MQTT client that lands what it receives (src/landing/): acks go to the broker only once the append is durable. */
export interface MqttFeedOptions extends MqttClientOptions {
  /** Who reads, for errors: "source 'events'", "duckstream ingest". */
  readonly what: string;
  readonly client_id: string;
  /** The password (read by the caller from the variable `password_env` names). */
  readonly password?: string;
}

/**
 * The MQTT side of landing (docs/connectors/mqtt.md#guarantees):
 *
 * - QoS 0 and 1: mqtt.js hands each PUBLISH to `handleMessage(packet, done)` and sends PUBACK only in `done`; we call
 *   `done` once `lander.land()` resolved. (mqtt.js's `customHandleAcks` exists only on MQTT 5 and fires before the
 *   message is ours; `handleMessage` is the same hook on 3.1.1 and 5.)
 * - QoS 2: mqtt.js stores the PUBLISH in `incomingStore.put()` and sends PUBREC in its callback, so our store lands
 *   the message there; at PUBREL (`get`) the message is already durable, and after a restart a PUBREL for an
 *   unknown packet id is simply completed (PUBCOMP).
 * - Identity: a QoS 1/2 PUBLISH is identified by client id, packet id and a hash of topic and payload, checked only
 *   when the broker set DUP (a redelivery, which MQTT requires to carry the original packet id). The broker reuses
 *   a packet id once it has our ack, so an identity is forgotten when its id comes again without DUP (QoS 1) or at
 *   PUBREL (QoS 2, which proves the broker has our PUBREC).
 *
 * mqtt.js handles one incoming packet at a time (it waits for `done`), so a client lands one message per fsync.
 */
export class MqttFeed implements BrokerFeed {
  private client: MqttClient | undefined;
  private stopping = false;
  private inFlight: Promise<unknown> = Promise.resolve();
  /** Per packet id, the identity of the last message that came with it (see `message`). */
  private readonly lastByPacketId = new Map<number, string>();

  constructor(private readonly o: MqttFeedOptions) {}

  async start(lander: Lander, onError: (err: Error) => void): Promise<void> {
    const o = this.o;
    const fail = (err: unknown): void => onError(err instanceof Error ? err : new Error(String(err)));
    const options: IClientOptions = {
      clientId: o.client_id,
      clean: o.clean,
      protocolVersion: o.protocol_version,
      connectTimeout: o.connect_timeout_ms,
      keepalive: o.keepalive_s,
      reconnectPeriod: o.reconnect_ms,
      incomingStore: new LandingStore(this, lander, fail),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
    };
    const client = mqtt.connect(o.url, options);
    this.client = client;
    client.handleMessage = (packet, done) => {
      if (packet.qos === 2) return done(); // landed at PUBLISH time (LandingStore.put); this is PUBREL
      if (this.stopping) return; // not landed, not acked: the broker keeps it for the next session
      const landing = lander.land(this.message(packet, lander)).then(
        () => done(),
        (err: unknown) => fail(err), // no ack: the broker redelivers it
      );
      this.inFlight = landing;
    };
    await connected(client, o, this.o.what);
    const topics = o.topic
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
    const granted = await subscribe(client, topics, o);
    const refused = granted.filter((g) => g.qos === 128 || g.qos > 2);
    if (refused.length > 0) {
      throw userError(
        `${o.what}: the MQTT broker refused the subscription to ${refused.map((g) => g.topic).join(', ')}`,
        'check the topic filter and the broker ACL',
      );
    }
    client.on('error', (err) => {
      // connection refused for good (bad credentials, session taken over): the source fails; transient errors reconnect
      if ('code' in err && typeof err.code === 'number' && [2, 4, 5, 133, 134, 135, 138].includes(err.code)) {
        fail(new DuckstreamError(`${o.what}: the MQTT broker refused the connection: ${err.message}`, { domain: 'external' }));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    if (!client) return;
    await this.inFlight.catch(() => undefined);
    // Let the last PUBACK/PUBREC reach the socket, then disconnect (force after a moment if the broker is gone).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => client.end(true, {}, () => resolve()), 2000);
      client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * The record to land for a PUBLISH: the topic as the key; identity for QoS 1/2 (checked only when DUP is set). A
   * PUBLISH without DUP that reuses a packet id tells that the broker has the ack of the id's previous message, so
   * that one's identity is forgotten (an ack lost on a cut connection leaves it, and the redelivery is dropped).
   */
  message(packet: IPublishPacket, lander: Lander): Parameters<Lander['land']>[0] {
    const value = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (packet.qos > 0 && packet.messageId !== undefined && packet.dup !== true) {
      const previous = this.lastByPacketId.get(packet.messageId);
      if (previous !== undefined) lander.forget(previous);
      this.lastByPacketId.set(packet.messageId, this.identity(packet));
    }
    return {
      value,
      key: packet.topic,
      ...(packet.qos > 0 ? { dedupeId: this.identity(packet), redelivered: packet.dup === true } : {}),
    };
  }

  identity(packet: IPublishPacket): string {
    const hash = createHash('sha1').update(packet.topic).update('\0').update(packet.payload).digest('base64url').slice(0, 16);
    return `mqtt:${this.o.client_id}:${packet.messageId ?? 0}:${hash}`;
  }

  get stoppingNow(): boolean {
    return this.stopping;
  }
}

/** Subscribe, again after a reconnect if the connection drops meanwhile (a cut is not a refusal), within connect_timeout_ms. */
async function subscribe(client: MqttClient, topics: string[], o: MqttFeedOptions): Promise<ISubscriptionGrant[]> {
  const deadline = Date.now() + o.connect_timeout_ms;
  for (;;) {
    try {
      return await client.subscribeAsync(topics, { qos: o.qos });
    } catch (err) {
      if (Date.now() > deadline) {
        throw userError(`${o.what}: MQTT subscribe to ${topics.join(', ')} failed: ${(err as Error).message}`, 'check the topic filter and the broker ACL');
      }
      await new Promise((r) => setTimeout(r, Math.min(o.reconnect_ms, 200)));
    }
  }
}

async function connected(client: MqttClient, o: MqttFeedOptions, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      client.end(true);
      reject(
        new DuckstreamError(`${what}: cannot reach the MQTT broker at ${o.url} within ${o.connect_timeout_ms} ms`, {
          domain: 'external',
          retriable: true,
          fix: 'start the broker (e.g. mosquitto on 127.0.0.1:1883) or fix url',
        }),
      );
    }, o.connect_timeout_ms);
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      client.end(true);
      reject(userError(`${what}: the MQTT broker at ${o.url} refused the connection: ${err.message}`, 'check url, username, password_env and client_id'));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
}

/**
 * mqtt.js's store of incoming QoS 2 messages, which it writes before it sends PUBREC: here, that write is the
 * landing. `get` (at PUBREL) returns what was landed in this process; after a restart it says "unknown", and mqtt.js
 * completes the flow with PUBCOMP without delivering anything again.
 */
class LandingStore implements IStore {
  private readonly pending = new Map<number, IPublishPacket>();

  constructor(
    private readonly feed: MqttFeed,
    private readonly lander: Lander,
    private readonly fail: (err: unknown) => void,
  ) {}

  put(packet: Packet, cb: (err?: Error) => void): this {
    const p = packet as IPublishPacket;
    if (p.cmd !== 'publish' || p.messageId === undefined || this.feed.stoppingNow) return this; // no PUBREC
    this.lander.land(this.feed.message(p, this.lander)).then(
      () => {
        this.pending.set(p.messageId!, p);
        cb();
      },
      (err: unknown) => this.fail(err),
    );
    return this;
  }

  get(packet: Pick<Packet, 'messageId'>, cb: (err?: Error, packet?: Packet) => void): this {
    const p = packet.messageId === undefined ? undefined : this.pending.get(packet.messageId);
    if (p) cb(undefined, p);
    else cb(new Error('unknown packet id'));
    return this;
  }

  del(packet: Pick<Packet, 'messageId'>, cb: (err?: Error, packet?: Packet) => void): this {
    const p = packet.messageId === undefined ? undefined : this.pending.get(packet.messageId);
    if (p) {
      this.pending.delete(p.messageId!);
      this.lander.forget(this.feed.identity(p));
    }
    cb(undefined, p);
    return this;
  }

  createStream(): ReturnType<IStore['createStream']> {
    return Readable.from([]) as unknown as ReturnType<IStore['createStream']>; // nothing to resend: incoming only
  }

  close(cb: (err?: Error) => void): void {
    cb();
  }
}
