import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP relay between a client under test and a real server (NATS, RabbitMQ, Mosquitto, PostgreSQL), so that a test
 * can cut every connection the way a server restart or a network fault does, without restarting a service that other
 * test files (running in parallel) use too. `cut()` destroys all relayed connections; `pause()` refuses new ones
 * until `resume()` (a server that is down), so a client's reconnect loop is exercised as well.
 */
export interface TcpProxy {
  /** The port clients connect to (on 127.0.0.1). */
  readonly port: number;
  /** Connections relayed so far, including cut ones. */
  readonly accepted: number;
  /** Destroy every open connection (both sides see a reset). */
  cut(): void;
  /** Cut, and refuse new connections until resume(). */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let paused = false;
  let accepted = 0;
  const server: Server = createServer((client) => {
    if (paused) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = (): void => {
    for (const s of [...open]) s.resetAndDestroy();
    open.clear();
  };
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return accepted;
    },
    cut,
    pause() {
      paused = true;
      cut();
    },
    resume() {
      paused = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
