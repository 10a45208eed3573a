/**
 * MQTT landing under repeated SIGKILLs (issue 15 "Faults"): `duckstream run` killed at random moments while
 * mosquitto_pub publishes at QoS 1 and 2, and `duckstream ingest` killed right after many different appends
 * (before their acks). After the last restart: every message exactly once in Parquet (0 lost; a duplicate would
 * be counted and fail the test, since Mosquitto redelivers with DUP and the original packet id). Publishing stays
 * under Mosquitto's max_queued_messages (1000 by default) for a client that is down: beyond it the broker drops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CLI } from '../support/cli.js';
import { describeMqtt, dropSession, logValues, messages, parquet, persistentSession, publish, query, tempDir, uid } from '../mqtt/helpers.js';

const sessions: string[] = [];
afterAll(() => sessions.forEach(dropSession));

function start(
  args: readonly string[],
  env: Record<string, string> = {},
): { child: ChildProcess; exited: Promise<NodeJS.Signals | number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return { child, exited, stderr: () => stderr };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const distinctN = async (dir: string): Promise<number> => new Set(await logValues(dir).catch(() => [])).size;

describeMqtt('MQTT landing under SIGKILL loops', () => {
  it('duckstream run SIGKILLed 10 times at random while publishing at QoS 1 and 2: every message exactly once in Parquet', async () => {
    const run = uid();
    const dir = tempDir('ds-mqtt-faults-');
    const total = 1500;
    const q = [1, 2] as const;
    const topic = (qos: number) => `ds-test/${run}/run-q${qos}`;
    const id = (qos: number) => `ds-${run}-run-q${qos}`;
    for (const qos of q) {
      sessions.push(id(qos));
      persistentSession(id(qos), topic(qos), qos);
    }
    const jobFile = join(dir, 'job.sql');
    writeFileSync(
      jobFile,
      q
        .map(
          (qos) =>
            `CREATE SOURCE s${qos} (n BIGINT) WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:1883', topic = '${topic(qos)}', qos = '${qos}', client_id = '${id(qos)}');
             CREATE SINK o${qos} WITH (connector = 'parquet', path = '${dir}/o${qos}') AS SELECT n FROM s${qos};`,
        )
        .join('\n'),
    );
    const ck = join(dir, 'ck');
    const args = ['run', jobFile, '--checkpoint', ck, '--trigger', '200ms'];
    let published = 0;
    const publishing = (async () => {
      for (let i = 0; i < total; i += 50) {
        // keep what the broker holds for a job that is down under Mosquitto's max_queued_messages (1000)
        while (i - Math.min(...(await Promise.all(q.map((qos) => distinctN(join(ck, 'landing', `s${qos}`)))))) > 500)
          await new Promise((r) => setTimeout(r, 200));
        await Promise.all(q.map((qos) => publish(topic(qos), messages(i, i + 50), qos)));
        published = i + 50;
        await new Promise((r) => setTimeout(r, 400)); // under Mosquitto's max_queued_messages (1000) while the job is down
      }
    })();
    let seed = 17;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const log: string[] = [];
    for (let round = 0; round < 10; round++) {
      const p = start(args);
      await until(`round ${round} to start landing`, async () => p.stderr().includes('batch') || (await distinctN(join(ck, 'landing', 's1'))) > 0, 60_000);
      await new Promise((r) => setTimeout(r, 300 + Math.floor(rand() * 1500)));
      p.child.kill('SIGKILL');
      await p.exited;
      log.push(
        `round ${round}: published ${published}, landed q1 ${await distinctN(join(ck, 'landing', 's1'))}, q2 ${await distinctN(join(ck, 'landing', 's2'))}`,
      );
    }
    await publishing;
    const last = start(args);
    for (const qos of q) await until(`all of q${qos} landed`, async () => (await distinctN(join(ck, 'landing', `s${qos}`))) >= total, 120_000);
    // let the job commit what was landed, then stop it gracefully
    const sinkRows = async (qos: number): Promise<number> =>
      (await query(`SELECT count(DISTINCT n)::INTEGER AS d FROM ${parquet(join(dir, `o${qos}`))}`).catch(() => [{ d: 0 }]))[0]!['d'] as number;
    for (const qos of q) await until(`o${qos} complete`, async () => (await sinkRows(qos)) >= total, 60_000);
    last.child.kill('SIGINT');
    await last.exited;
    console.log(log.join('\n'));
    for (const qos of q) {
      const rows = await query(
        `SELECT count(*)::INTEGER AS c, count(DISTINCT n)::INTEGER AS d, min(n)::INTEGER AS lo, max(n)::INTEGER AS hi FROM ${parquet(join(dir, `o${qos}`))}`,
      );
      const landed = (await logValues(join(ck, 'landing', `s${qos}`))).length;
      console.log(`QoS ${qos}: ${total} published, ${landed} landed records, sink ${JSON.stringify(rows[0])}`);
      expect(rows[0], `QoS ${qos}\n${log.join('\n')}`).toEqual({ c: total, d: total, lo: 0, hi: total - 1 });
      expect(landed, `QoS ${qos}: duplicates landed`).toBe(total);
    }
  });

  it('duckstream ingest SIGKILLed after 10 different appends (before their acks), QoS 1 and 2: 0 lost, 0 duplicates', async () => {
    const run = uid();
    const dir = tempDir('ds-mqtt-faults-');
    for (const qos of [1, 2] as const) {
      const topic = `ds-test/${run}/ingest-q${qos}`;
      const id = `ds-${run}-ingest-q${qos}`;
      const to = join(dir, `landed-q${qos}`);
      sessions.push(id);
      persistentSession(id, topic, qos);
      const total = 900; // Mosquitto keeps at most max_queued_messages (1000) for an offline client, and drops the rest
      await publish(topic, messages(0, total), qos);
      const args = ['ingest', 'mqtt://127.0.0.1:1883', '--to', to, '--topic', topic, '--qos', String(qos), '--client-id', id];
      let dropped = 0;
      for (let k = 1; k <= 10; k++) {
        const before = await distinctN(to);
        const p = start(args, { DUCKSTREAM_TEST_KILL_AFTER_LANDED: String(7 * k) });
        expect(await p.exited, p.stderr()).toBe('SIGKILL');
        expect(await distinctN(to)).toBeGreaterThan(before);
      }
      const p = start(args);
      await until(`q${qos} all landed`, async () => (await distinctN(to)) >= total);
      p.child.kill('SIGINT');
      await p.exited;
      dropped += Number(/dropped (\d+) duplicate/.exec(p.stderr())?.[1] ?? 0);
      const values = await logValues(to);
      expect(new Set(values).size).toBe(total);
      expect(values.length, `QoS ${qos}: duplicates`).toBe(total);
      console.log(`ingest QoS ${qos}: 10 kills, ${values.length} records for ${total} messages; last run dropped ${dropped}`);
    }
  });
});
