import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { externalError, userError } from '../../errors.js';
import type { NatsClientOptions } from './options.js';

/**
 * A NATS connection for these options. It reconnects by itself, forever (a server restart or a cut connection is
 * waited out; requests made meanwhile time out and are retried by the caller's withRetry). Secrets come from the
 * environment variables the options name, never from the options themselves.
 */
export async function connectNats(what: string, o: NatsClientOptions): Promise<NatsConnection> {
  const servers = o.servers
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (servers.length === 0) throw userError(`${what}: servers is empty`, "servers = 'nats://127.0.0.1:4222[,nats://host2:4222]'");
  const options: ConnectionOptions = {
    servers,
    name: 'duckstream',
    timeout: o.connect_timeout_ms,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
  };
  if (o.user !== undefined) {
    options.user = o.user;
    if (o.password_env !== undefined) options.pass = secret(what, 'password_env', o.password_env);
  } else if (o.password_env !== undefined) {
    throw userError(`${what}: password_env needs user`, "user = 'me', password_env = 'NATS_PASSWORD' (the variable's name, not the password)");
  }
  if (o.token_env !== undefined) options.token = secret(what, 'token_env', o.token_env);
  try {
    return await connect(options);
  } catch (err) {
    throw externalError(
      `${what}: cannot connect to NATS at ${servers.join(', ')}: ${natsErrorText(err)} (is nats-server running, with JetStream: nats-server -js?)`,
      true,
      err,
    );
  }
}

function secret(what: string, option: string, variable: string): string {
  const value = process.env[variable];
  if (value === undefined) throw userError(`${what}: environment variable ${variable} (${option}) is not set`, `export ${variable}=…`);
  return value;
}

/** Whether a NATS client error is worth another attempt: timeouts, lost connections, no responders while a server restarts. */
export function isRetriableNatsError(err: unknown): boolean {
  const text = natsErrorText(err).toLowerCase();
  if (/stream not found|consumer not found.*durable|bad request|invalid|permissions violation|authorization/.test(text)) return false;
  return true;
}

export function natsErrorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
