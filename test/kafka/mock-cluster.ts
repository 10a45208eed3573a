/**
 * Test plumbing around test/kafka/harness/mock_broker.c: a real Kafka-protocol
 * broker (librdkafka's mock cluster) driven over a line protocol on stdin.
 *
 *   const cluster = await startMockCluster({ brokers: 3, topics: [{ name, partitions: 3 }] });
 *   const kafka = kafkaClient(cluster);           // kafkajs, logs quiet, fast retries
 *   await cluster.brokerDown(2); ...; await cluster.stop();
 *
 * See test/kafka/README.md for the quirks of the mock that tests must respect.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { buildHarness, INSTALL_HINT } from './harness-build.js';

export { buildHarness, HARNESS_BINARY, HARNESS_SOURCE, INSTALL_HINT } from './harness-build.js';

const isCI = (): boolean => process.env.CI === 'true';

let availability: { ok: boolean; why?: string } | undefined;

/**
 * Whether the Kafka tests can run here: the harness binary is (or can be)
 * built against librdkafka, and kcat is on PATH. Cached per process.
 */
export function kafkaAvailable(): { ok: boolean; why?: string } {
  if (availability) return availability;
  const missing: string[] = [];
  try {
    buildHarness();
  } catch (e) {
    missing.push((e as Error).message);
  }
  const k = spawnSync('kcat', ['-V'], { encoding: 'utf8', timeout: 10_000 });
  if (k.error || k.status !== 0) missing.push(`kcat not runnable (${k.error?.message ?? `exit ${String(k.status)}`})`);
  availability = missing.length === 0 ? { ok: true } : { ok: false, why: `${INSTALL_HINT} -- ${missing.join('; ')}` };
  return availability;
}

let warned = false;

/**
 * `describe` for tests that need the mock broker. Prerequisites missing:
 * skipped locally (with a warning), a failing test under CI=true.
 */
export function describeKafka(name: string, fn: () => void): void {
  const a = kafkaAvailable();
  if (a.ok) {
    describe(name, fn);
  } else if (isCI()) {
    describe(name, () => {
      it('has its Kafka test prerequisites (CI=true)', () => {
        throw new Error(a.why);
      });
    });
  } else {
    if (!warned) {
      warned = true;
      console.warn(`[kafka tests skipped] ${a.why ?? INSTALL_HINT}`);
    }
    describe.skip(`${name} [skipped: ${INSTALL_HINT}]`, fn);
  }
}

/** Unique, valid topic / group name per test (kafkajs's tests do the same). */
export function randomTopic(prefix = 'topic'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/* ---------------------------------------------------------------- cluster */

export interface MockClusterOptions {
  /** Number of brokers, ids 1..n (default 1). */
  brokers?: number;
  /** Topics to create before returning. */
  topics?: { name: string; partitions: number; replication?: number }[];
  /** Milliseconds to wait for the BOOTSTRAP line (default 10 s). */
  startTimeoutMs?: number;
}

export type ErrorCode = string | number;

interface Pending {
  line: string;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class MockCluster {
  /** host:port of every broker, in broker id order (id = index + 1). */
  readonly bootstrap: string[];
  readonly brokers: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Pending[] = [];
  private stderr = '';
  private exited: Promise<void>;
  private dead: Error | undefined;

  /** @internal use startMockCluster() */
  constructor(child: ChildProcessWithoutNullStreams, bootstrap: string[], brokers: number, lines: AsyncIterator<string>, stderrSoFar: () => string) {
    this.child = child;
    this.bootstrap = bootstrap;
    this.brokers = brokers;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    this.stderr = stderrSoFar();
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-8192);
    });
    void this.exited.then(() => {
      this.dead = new Error(`mock broker exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)}): ${this.stderr.trim()}`);
      for (const p of this.pending.splice(0)) p.reject(this.dead);
    });
    void (async () => {
      for (;;) {
        const r = await lines.next();
        if (r.done) return;
        const p = this.pending.shift();
        if (!p) continue; // unsolicited output: ignore
        if (r.value === 'OK') p.resolve();
        else p.reject(new Error(`mock broker: '${p.line}' -> ${r.value}`));
      }
    })();
  }

  /** Send one harness command; resolves on OK, rejects on ERR. */
  command(line: string): Promise<void> {
    if (/[\r\n]/.test(line)) return Promise.reject(new Error('command must be a single line'));
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.child.stdin.write(`${line}\n`);
    });
  }

  createTopic(name: string, partitions: number, replication = 1): Promise<void> {
    return this.command(`topic ${name} ${partitions} ${replication}`);
  }

  /** Disconnect broker `id` (-1 = all) and refuse new connections. Leaders do NOT move. */
  brokerDown(id: number): Promise<void> {
    return this.command(`down ${id}`);
  }

  brokerUp(id: number): Promise<void> {
    return this.command(`up ${id}`);
  }

  setLeader(topic: string, partition: number, brokerId: number): Promise<void> {
    return this.command(`leader ${topic} ${partition} ${brokerId}`);
  }

  /**
   * The next `count` requests of `api` (name like 'Produce' or ApiKey number),
   * cluster-wide, fail with `codes` in order (the last code repeats).
   * Codes: librdkafka names ('NOT_LEADER_FOR_PARTITION', alias
   * 'NOT_LEADER_OR_FOLLOWER', '_TRANSPORT' = disconnect) or numbers.
   */
  pushErrors(api: string | number, count: number, ...codes: ErrorCode[]): Promise<void> {
    if (codes.length === 0) return Promise.reject(new Error('pushErrors needs at least one error code'));
    return this.command(`errors ${api} ${count} ${codes.join(' ')}`);
  }

  /** Per-broker stack of (error, delay ms) for the next requests of `api` on that broker. */
  pushBrokerErrors(brokerId: number, api: string | number, entries: { code: ErrorCode; rttMs: number }[]): Promise<void> {
    return this.command(`broker_errors ${brokerId} ${api} ${entries.map((e) => `${e.code} ${e.rttMs}`).join(' ')}`);
  }

  /** Clear pushed cluster-wide errors (for one API, or all). */
  clearErrors(api?: string | number): Promise<void> {
    return this.command(api === undefined ? 'clear' : `clear ${api}`);
  }

  setRtt(brokerId: number, ms: number): Promise<void> {
    return this.command(`rtt ${brokerId} ${ms}`);
  }

  setCoordinator(keyType: 'group' | 'transaction', key: string, brokerId: number): Promise<void> {
    return this.command(`coordinator ${keyType} ${key} ${brokerId}`);
  }

  /** Stops the broker (quit, then SIGKILL after 5 s). Idempotent. */
  async stop(): Promise<void> {
    if (!this.dead) {
      this.command('quit').catch(() => undefined);
      this.child.stdin.end();
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function startMockCluster(opts: MockClusterOptions = {}): Promise<MockCluster> {
  const brokers = opts.brokers ?? 1;
  const bin = buildHarness();
  const child = spawn(bin, [String(brokers)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  const onErr = (d: Buffer): void => {
    stderr += d.toString('utf8');
  };
  child.stderr.on('data', onErr);
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
  const lines = rl[Symbol.asyncIterator]();
  const timeoutMs = opts.startTimeoutMs ?? 10_000;

  let timer: NodeJS.Timeout | undefined;
  let first: IteratorResult<string>;
  try {
    first = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`mock broker: no BOOTSTRAP line within ${timeoutMs} ms`)), timeoutMs);
      }),
      new Promise<never>((_, reject) => {
        child.once('error', reject);
      }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const m = first.done ? null : /^BOOTSTRAP (\S+)$/.exec(first.value);
  if (!m?.[1]) {
    child.kill('SIGKILL');
    throw new Error(`mock broker: expected BOOTSTRAP line, got ${first.done ? 'EOF' : JSON.stringify(first.value)}: ${stderr.trim()}`);
  }
  child.stderr.off('data', onErr);
  const cluster = new MockCluster(child, m[1].split(','), brokers, lines, () => stderr);
  try {
    for (const t of opts.topics ?? []) await cluster.createTopic(t.name, t.partitions, t.replication ?? 1);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/* ----------------------------------------------------------------- kafkajs */

/**
 * A kafkajs client for the mock: logs quiet (ERROR only when
 * DUCKSTREAM_KAFKA_LOG is set, else NOTHING) and fast retries, so
 * fault-injection tests finish in seconds.
 */
export function kafkaClient(cluster: MockCluster, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: randomTopic('duckstream-test'),
    brokers: cluster.bootstrap,
    logLevel: process.env.DUCKSTREAM_KAFKA_LOG ? logLevel.ERROR : logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { initialRetryTime: 50, maxRetryTime: 1_000, retries: 5 },
    ...overrides,
  });
}

/* -------------------------------------------------------------------- kcat */

/** Runs kcat; resolves stdout, rejects with stderr on non-zero exit or timeout. */
export function runKcat(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kcat ${args.join(' ')} timed out after ${opts.timeoutMs ?? 20_000} ms: ${err.trim()}`));
    }, opts.timeoutMs ?? 20_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`kcat ${args.join(' ')} exited ${String(code)}: ${err.trim()}`));
    });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * One single-broker mock cluster for the tests of the enclosing describe block: started before them, stopped
 * after. Read `mock.cluster` / `mock.bootstrap` inside tests (they exist only once beforeAll ran).
 */
export function sharedMockCluster(): { readonly cluster: MockCluster; readonly bootstrap: string } {
  let started: MockCluster | undefined;
  beforeAll(async () => {
    started = await startMockCluster({ brokers: 1 });
  });
  afterAll(() => started?.stop());
  const cluster = (): MockCluster => {
    if (!started) throw new Error('the mock cluster is not started: use it inside a test, not at describe time');
    return started;
  };
  return {
    get cluster() {
      return cluster();
    },
    get bootstrap() {
      return cluster().bootstrap.join(',');
    },
  };
}
