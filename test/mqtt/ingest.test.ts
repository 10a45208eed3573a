import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runJob } from '../../src/driver/run-job.js';
import { CLI } from '../support/cli.js';
import { describeMqtt, dropSession, logValues, messages, parquet, persistentSession, publish, query, tempDir, uid } from './helpers.js';

const sessions: string[] = [];
afterAll(() => sessions.forEach(dropSession));

interface Ingest {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function ingest(args: readonly string[], env: Record<string, string> = {}): Ingest {
  const child = spawn(process.execPath, [CLI, 'ingest', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeMqtt('duckstream ingest mqtt:// (stand-alone landing)', () => {
  it('SIGKILLed between the durable append and the ack (QoS 1 and 2): 0 lost after restart, the redelivery dropped, and a job reads the log', async () => {
    const run = uid();
    const dir = tempDir();
    // one ingest subscribed at QoS 2 to two topics: mosquitto_pub publishes at QoS 1 on one and QoS 2 on the other,
    // and each message arrives at the QoS it was published with
    const topic = (qos: number): string => `ds-test/${run}/ingest-q${qos}`;
    const id = `ds-${run}-ingest`;
    const to = join(dir, 'landed');
    sessions.push(id);
    persistentSession(id, `${topic(1)}`, 2);
    persistentSession(id, `${topic(2)}`, 2);
    const publishBoth = (from: number, until: number) => Promise.all([1, 2].map((qos) => publish(topic(qos), messages(from, until, { qos }), qos)));
    await publishBoth(0, 150);
    const args = ['mqtt://127.0.0.1:1883', '--to', to, '--topic', `${topic(1)},${topic(2)}`, '--qos', '2', '--client-id', id];
    // 1: killed right after the append that lands message 100 is fsynced, before its PUBACK/PUBREC
    const first = ingest(args, { DUCKSTREAM_TEST_KILL_AFTER_LANDED: '100' });
    expect((await first.exited).signal, first.stderr()).toBe('SIGKILL');
    expect((await logValues(to)).length).toBe(100);
    // published while nothing consumes: the persistent session keeps them
    await publishBoth(150, 200);
    // 2: restarted; Mosquitto redelivers what was not acknowledged
    const second = ingest(args);
    await waitFor(`${to} to hold 400 distinct messages`, async () => new Set(await logValues(to)).size >= 400);
    second.child.kill('SIGINT');
    expect((await second.exited).code, second.stderr()).toBe(0);
    const landed = (await logValues(to)).map((v) => JSON.parse(v) as { n: number; qos: number });
    for (const qos of [1, 2]) {
      const ns = landed.filter((m) => m.qos === qos).map((m) => m.n);
      expect(ns.length, `QoS ${qos}: duplicates in the log`).toBe(200);
      expect(
        [...ns].sort((a, b) => a - b),
        `QoS ${qos}`,
      ).toEqual(Array.from({ length: 200 }, (_, i) => i));
    }
    // the message whose ack the kill prevented came again (DUP, same packet id) and was dropped at landing
    expect(Number(/dropped (\d+) duplicate/.exec(second.stderr())?.[1]), second.stderr()).toBeGreaterThanOrEqual(1);
    // the landed log is an ordinary log: a job reads it with connector = 'log'
    const jobFile = join(dir, 'read-landed.sql');
    writeFileSync(
      jobFile,
      `CREATE SOURCE landed (n BIGINT, qos INTEGER) WITH (connector = 'log', path = '${to}');
       CREATE SINK o WITH (connector = 'parquet', path = '${dir}/o') AS SELECT n, qos, _key AS topic FROM landed;`,
    );
    await runJob({ jobFile, checkpoint: join(dir, 'ck'), trigger: { kind: 'available-now' } });
    const rows = await query(
      `SELECT qos, topic, count(*)::INTEGER AS c, count(DISTINCT n)::INTEGER AS d, min(n)::INTEGER AS lo, max(n)::INTEGER AS hi FROM ${parquet(join(dir, 'o'))} GROUP BY ALL ORDER BY qos`,
    );
    expect(rows).toEqual([1, 2].map((qos) => ({ qos, topic: topic(qos), c: 200, d: 200, lo: 0, hi: 199 })));
  }, 25_000);

  it('refuses a url it cannot land from, naming the schemes it can', async () => {
    const r = ingest(['kafka://127.0.0.1:9092', '--to', join(tempDir(), 'x'), '--topic', 't']);
    expect((await r.exited).code).toBe(2);
    expect(r.stderr()).toMatch(/cannot land from kafka:\/\/.*mqtt:\/\//s);
  }, 15_000);
});
