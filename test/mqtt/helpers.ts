/**
 * Helpers for the MQTT tests against the real Mosquitto at 127.0.0.1:1883, driven with the Debian
 * `mosquitto-clients` tools (an independent client) and duckstream run in-process or as the built CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { BatchProgress } from '../../src/driver/progress.js';
import { runJob } from '../../src/driver/run-job.js';
import { openLog } from '../../src/log/index.js';
import { Engine, literal, type Row } from '../../src/sql/engine.js';

export const MQTT_PORT = 1883;
const HINT = 'start Mosquitto on 127.0.0.1:1883 (apt-get install mosquitto mosquitto-clients; service mosquitto start)';

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

const available = (await reachable(MQTT_PORT)) && spawnSync('mosquitto_pub', ['--help']).error === undefined;

/** `describe` when Mosquitto and mosquitto_pub are there; a skip with the reason otherwise, a failure under CI=true. */
export function describeMqtt(name: string, fn: () => void): void {
  if (available) describe(name, fn);
  else if (process.env['CI'] === 'true')
    describe(name, () =>
      it('has Mosquitto and mosquitto-clients (CI=true)', () => {
        throw new Error(HINT);
      }),
    );
  else describe.skip(`${name} (skipped: ${HINT})`, fn);
}

export const uid = (): string => randomBytes(5).toString('hex');
export const tempDir = (prefix = 'ds-mqtt-'): string => mkdtempSync(join(tmpdir(), prefix));

/** Create a persistent session (clean=false) subscribed to `topic`, so the broker keeps QoS 1/2 messages for `clientId`. */
export function persistentSession(clientId: string, topic: string, qos: number, port = MQTT_PORT): void {
  const r = spawnSync('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-c', '-i', clientId, '-q', String(qos), '-t', topic, '-E'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (r.status !== 0) throw new Error(`mosquitto_sub -E failed: ${r.stderr}`);
}

/** Remove a persistent session (connect once with a clean session). */
export function dropSession(clientId: string): void {
  spawnSync('mosquitto_sub', ['-h', '127.0.0.1', '-i', clientId, '-t', `ds-none/${clientId}`, '-E'], { timeout: 10_000 });
}

/** Publish each line as one message with mosquitto_pub (an independent client). */
export function publish(topic: string, lines: readonly string[], qos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(MQTT_PORT), '-t', topic, '-q', String(qos), '-l'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited ${code}: ${err}`))));
    p.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

export const messages = (from: number, to: number, extra: Record<string, unknown> = {}): string[] =>
  Array.from({ length: to - from }, (_, i) => JSON.stringify({ n: from + i, ...extra }));

/**
 * Run `sql` in-process with an interval trigger until the job has read `rows` input rows in total and `done()`
 * says so (or `timeoutMs` passed), as `duckstream run` would; returns the progress records.
 */
export async function runUntil(
  dir: string,
  sql: string,
  rows: number,
  o: { timeoutMs?: number; onBatch?: (p: BatchProgress) => void; done?: () => Promise<boolean> } = {},
): Promise<BatchProgress[]> {
  const jobFile = join(dir, 'job.sql');
  writeFileSync(jobFile, sql);
  const progress: BatchProgress[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), o.timeoutMs ?? 15_000);
  let total = 0;
  try {
    await runJob({
      jobFile,
      checkpoint: join(dir, 'ck'),
      trigger: { kind: 'interval', ms: 100 },
      signal: controller.signal,
      onBatch: (p) => {
        progress.push(p);
        total += p.numInputRows;
        o.onBatch?.(p);
        if (total >= rows) void (o.done ?? (async () => true))().then((d) => d && controller.abort());
      },
    });
  } finally {
    clearTimeout(timer);
  }
  return progress;
}

export async function query(sql: string): Promise<Row[]> {
  const engine = await Engine.open();
  try {
    return await engine.allJson(sql);
  } finally {
    engine.close();
  }
}

export const parquet = (path: string): string => `read_parquet(${literal(join(path, '*.parquet'))})`;

/** The values of a landing log, in offset order. */
export async function logValues(dir: string): Promise<string[]> {
  const log = await openLog(dir);
  const b = log.read(0, 0n, log.endOffset(0));
  await log.close();
  return Array.from({ length: b.count }, (_, i) => Buffer.from(b.values[i]!).toString('utf8'));
}
