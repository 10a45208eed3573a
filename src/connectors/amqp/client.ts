import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { DuckstreamError, externalError, userError } from '../../errors.js';
import { maskUrl } from './options.js';

export interface AmqpClientOptions {
  /** What the client's errors name, e.g. "source 'ev'". */
  readonly owner: string;
  readonly url: string;
  readonly connectionTimeoutMs: number;
  readonly heartbeatS: number;
}

/**
 * One AMQP connection, opened on first use and again after it broke (a connection cut, a broker restart): callers
 * run their work under withRetry and call `reset` when it failed, so the next attempt reconnects. amqplib's own
 * recovery is not used: a broken connection loses its consumers anyway, and the callers re-read from an offset
 * (streams) or rely on redelivery (landing), so a fresh connection per attempt is simpler and as exact.
 */
export class AmqpClient {
  private current: Promise<ChannelModel> | undefined;
  private live: ChannelModel | undefined;

  constructor(private readonly options: AmqpClientOptions) {}

  /** The open connection (connecting if there is none). */
  connection(): Promise<ChannelModel> {
    if (!this.current) {
      const opening = this.connect();
      this.current = opening;
      opening.catch(() => {
        if (this.current === opening) this.current = undefined;
      });
    }
    return this.current;
  }

  /** A new channel on the connection; errors on it (a channel-level exception) surface through `onError`. */
  async channel(onError?: (err: Error) => void): Promise<Channel> {
    const conn = await this.connection();
    try {
      const ch = await conn.createChannel();
      ch.on('error', (err: Error) => onError?.(err));
      ch.on('close', () => onError?.(externalError(`${this.options.owner}: AMQP channel closed`, true)));
      return ch;
    } catch (err) {
      this.reset();
      throw asAmqpError(this.options.owner, 'cannot open a channel', err);
    }
  }

  /** Drop the connection (after an error): the next call reconnects. */
  reset(): void {
    const old = this.current;
    this.current = undefined;
    this.live = undefined;
    void old?.then((c) => c.close()).catch(() => undefined);
  }

  async close(): Promise<void> {
    const old = this.current;
    this.current = undefined;
    this.live = undefined;
    if (old) await old.then((c) => c.close()).catch(() => undefined);
  }

  private async connect(): Promise<ChannelModel> {
    const { owner, url } = this.options;
    const withHeartbeat = new URL(url);
    if (!withHeartbeat.searchParams.has('heartbeat')) withHeartbeat.searchParams.set('heartbeat', String(this.options.heartbeatS));
    let conn: ChannelModel;
    try {
      conn = await amqp.connect(withHeartbeat.toString(), { timeout: this.options.connectionTimeoutMs });
    } catch (err) {
      throw asAmqpError(owner, `cannot connect to ${maskUrl(url)}`, err);
    }
    this.live = conn;
    const drop = () => {
      if (this.live !== conn) return;
      this.live = undefined;
      this.current = undefined;
    };
    conn.on('error', drop);
    conn.on('close', drop);
    return conn;
  }
}

/** An amqplib failure as a DuckstreamError: access refused is the user's to fix; a missing queue too; the rest is retriable. */
export function asAmqpError(owner: string, what: string, err: unknown): DuckstreamError {
  if (err instanceof DuckstreamError) return err;
  const message = maskUrl(err instanceof Error ? err.message : String(err));
  const code = (err as { code?: unknown }).code;
  if (/ACCESS_REFUSED|403|authentication/i.test(message) || code === 403)
    return userError(`${owner}: ${what}: access refused (${message})`, 'check the user and password in url (or password_env) and the vhost permissions');
  if (code === 404 || /NOT_FOUND/.test(message))
    return userError(`${owner}: ${what}: ${message}`, 'create the queue first (a stream: x-queue-type = stream), or fix the queue name');
  return externalError(`${owner}: ${what}: ${message}`, true, err);
}

/** Whether a failure may go away by trying again (a broken connection, a timeout), as opposed to the user's to fix. */
export function isRetriableAmqpError(err: unknown): boolean {
  return err instanceof DuckstreamError ? err.retriable : true;
}
