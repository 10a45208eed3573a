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

const ns = (values: readonly string[]): number[] => values.map((v) => (JSON.parse(v) as { n: number }).n);

describeMqtt('duckstream ingest mqtt:// (stand-alone landing)', () => {
  it('SIGKILLed between the durable append and the ack (QoS 1 and 2): 0 lost after restart, the redelivery dropped, and a job reads the log', async () => {
    const run = uid();
    const dir = tempDir();
    const runs = await Promise.all(
      ([1, 2] as const).map(async (qos) => {
        const topic = `ds-test/${run}/ingest-q${qos}`;
        const id = `ds-${run}-ingest-q${qos}`;
        const to = join(dir, `landed-q${qos}`);
        sessions.push(id);
        persistentSession(id, topic, qos);
        await publish(topic, messages(0, 300), qos);
        const args = ['mqtt://127.0.0.1:1883', '--to', to, '--topic', topic, '--qos', String(qos), '--client-id', id];
        // 1: killed right after the append that lands message 100 is fsynced, before its PUBACK/PUBREC
        const first = ingest(args, { DUCKSTREAM_TEST_KILL_AFTER_LANDED: '100' });
        expect((await first.exited).signal, first.stderr()).toBe('SIGKILL');
        const afterKill = ns(await logValues(to));
        expect(afterKill.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i));
        // published while nothing consumes: the persistent session keeps them
        await publish(topic, messages(300, 400), qos);
        // 2: restarted; Mosquitto redelivers what was not acknowledged
        const second = ingest(args);
        await waitFor(`${to} to hold 400 distinct messages`, async () => new Set(await logValues(to)).size >= 400);
        second.child.kill('SIGINT');
        expect((await second.exited).code, second.stderr()).toBe(0);
        const landed = ns(await logValues(to));
        const dropped = Number(/dropped (\d+) duplicate/.exec(second.stderr())?.[1]);
        return { qos, to, landed, dropped, stderr: second.stderr() };
      }),
    );
    for (const r of runs) {
      expect(
        [...new Set(r.landed)].sort((a, b) => a - b),
        `QoS ${r.qos}`,
      ).toEqual(Array.from({ length: 400 }, (_, i) => i));
      // the message whose ack the kill prevented came again (DUP, same packet id) and was dropped at landing
      expect(r.landed.length, `QoS ${r.qos}: duplicates in the log`).toBe(400);
      expect(r.dropped, `QoS ${r.qos}: ${r.stderr}`).toBeGreaterThanOrEqual(1);
    }
    // the landed logs are ordinary logs: a job reads them with connector = 'log'
    const jobFile = join(dir, 'read-landed.sql');
    writeFileSync(
      jobFile,
      `CREATE SOURCE q1 (n BIGINT) WITH (connector = 'log', path = '${runs[0]!.to}');
       CREATE SOURCE q2 (n BIGINT) WITH (connector = 'log', path = '${runs[1]!.to}');
       CREATE SINK o1 WITH (connector = 'parquet', path = '${dir}/o1') AS SELECT n, _key AS topic FROM q1;
       CREATE SINK o2 WITH (connector = 'parquet', path = '${dir}/o2') AS SELECT n FROM q2;`,
    );
    await runJob({ jobFile, checkpoint: join(dir, 'ck'), trigger: { kind: 'available-now' } });
    for (const sink of ['o1', 'o2']) {
      const rows = await query(
        `SELECT count(*)::INTEGER AS c, count(DISTINCT n)::INTEGER AS d, min(n)::INTEGER AS lo, max(n)::INTEGER AS hi FROM ${parquet(join(dir, sink))}`,
      );
      expect(rows[0]).toEqual({ c: 400, d: 400, lo: 0, hi: 399 });
    }
    const topics = await query(`SELECT DISTINCT topic FROM ${parquet(join(dir, 'o1'))}`);
    expect(topics).toEqual([{ topic: `ds-test/${run}/ingest-q1` }]);
  }, 25_000);

  it('refuses a url it cannot land from, naming the schemes it can', async () => {
    const r = ingest(['kafka://127.0.0.1:9092', '--to', join(tempDir(), 'x'), '--topic', 't']);
    expect((await r.exited).code).toBe(2);
    expect(r.stderr()).toMatch(/cannot land from kafka:\/\/.*mqtt:\/\//s);
  }, 15_000);
});
