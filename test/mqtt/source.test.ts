import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { describeMqtt, dropSession, logValues, messages, parquet, persistentSession, publish, query, runUntil, tempDir, uid } from './helpers.js';

const sessions: string[] = [];
afterAll(() => sessions.forEach(dropSession));

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describeMqtt("connector = 'mqtt' against Mosquitto", () => {
  it('lands what mosquitto_pub published at QoS 1 and 2 while the job was down (persistent sessions), exactly once in Parquet; dedupe_key drops a republished message', async () => {
    const run = uid();
    const dir = tempDir();
    const t1 = `ds-test/${run}/q1`;
    const t2 = `ds-test/${run}/q2`;
    const t3 = `ds-test/${run}/dd`;
    const ids = { a: `ds-${run}-a`, b: `ds-${run}-b`, c: `ds-${run}-c` };
    sessions.push(...Object.values(ids));
    persistentSession(ids.a, `${t1}/#`, 1);
    persistentSession(ids.b, t2, 2);
    persistentSession(ids.c, t3, 1);
    // published before the job starts: only a persistent session keeps them for the job
    await Promise.all([
      publish(`${t1}/x`, messages(0, 150), 1),
      publish(`${t1}/y`, messages(150, 200), 1),
      publish(t2, messages(0, 200), 2),
      // every message twice (a publisher's retry): dedupe_key makes them one
      publish(t3, [...messages(0, 50), ...messages(0, 50)], 1),
    ]);
    const progress = await runUntil(
      dir,
      `CREATE SOURCE a (n BIGINT) WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:1883', topic = '${t1}/#', qos = '1', client_id = '${ids.a}');
       CREATE SOURCE b (n BIGINT) WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:1883', topic = '${t2}', qos = '2', client_id = '${ids.b}', protocol_version = '5');
       CREATE SOURCE c (n BIGINT) WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:1883', topic = '${t3}', qos = '1', client_id = '${ids.c}', dedupe_key = 'n');
       CREATE SINK oa WITH (connector = 'parquet', path = '${dir}/a') AS SELECT n, _key AS topic, _offset AS o FROM a;
       CREATE SINK ob WITH (connector = 'parquet', path = '${dir}/b') AS SELECT n, _key AS topic FROM b;
       CREATE SINK oc WITH (connector = 'parquet', path = '${dir}/c') AS SELECT n FROM c;`,
      450,
    );
    expect(progress.reduce((s, p) => s + p.numInputRows, 0)).toBe(450);
    const a = await query(`SELECT n::INTEGER AS n, topic, o::INTEGER AS o FROM ${parquet(join(dir, 'a'))} ORDER BY n`);
    expect(a.map((r) => r['n'])).toEqual(range(200));
    expect(a.filter((r) => r['topic'] !== `${t1}/${(r['n'] as number) < 150 ? 'x' : 'y'}`)).toEqual([]);
    expect(a.map((r) => r['o']).sort((x, y) => (x as number) - (y as number))).toEqual(range(200));
    const b = await query(`SELECT n::INTEGER AS n, topic FROM ${parquet(join(dir, 'b'))} ORDER BY n`);
    expect(b.map((r) => r['n'])).toEqual(range(200));
    // the landing log holds the job's input, under the checkpoint
    const c = await query(`SELECT n::INTEGER AS n FROM ${parquet(join(dir, 'c'))} ORDER BY n`);
    expect(c.map((r) => r['n'])).toEqual(range(50));
  }, 25_000);

  it('loses nothing when every connection is cut mid-run (tcp-proxy), duplicates counted', async () => {
    const run = uid();
    const dir = tempDir();
    const topic = `ds-test/${run}/cut`;
    const id = `ds-${run}-cut`;
    sessions.push(id);
    const proxy = await startTcpProxy(1883);
    try {
      persistentSession(id, topic, 1);
      const total = 600;
      let cuts = 0;
      const landed = async (): Promise<number> => (await logValues(join(dir, 'ck', 'landing', 's')).catch(() => [])).length;
      const publishing = (async () => {
        for (let i = 0; i < total; i += 100) {
          // cut only once the job is landing (a cut during its start is the reconnect test's business)
          while (i > 0 && (await landed()) === 0) await new Promise((r) => setTimeout(r, 50));
          await publish(topic, messages(i, i + 100), 1);
          if (i % 200 === 100) {
            proxy.cut();
            cuts++;
          }
        }
      })();
      await runUntil(
        dir,
        `CREATE SOURCE s (n BIGINT) WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:${proxy.port}', topic = '${topic}', qos = '1', client_id = '${id}', reconnect_ms = '100');
         CREATE SINK o WITH (connector = 'parquet', path = '${dir}/o') AS SELECT n FROM s;`,
        total,
        { timeoutMs: 20_000, done: async () => new Set(await logValues(join(dir, 'ck', 'landing', 's'))).size >= total },
      );
      await publishing;
      expect(cuts).toBe(3);
      expect(proxy.accepted).toBeGreaterThan(1);
      const rows = await query(
        `SELECT count(*)::INTEGER AS rows, count(DISTINCT n)::INTEGER AS distinct_n, min(n)::INTEGER AS lo, max(n)::INTEGER AS hi FROM ${parquet(join(dir, 'o'))}`,
      );
      // 0 lost
      expect(rows[0]).toMatchObject({ distinct_n: total, lo: 0, hi: total - 1 });
      const duplicates = (rows[0]!['rows'] as number) - total;
      // Mosquitto redelivers what we had not acked with DUP and the same packet id: dropped at landing
      expect(duplicates).toBe(0);
      console.log(`mqtt cut test: ${cuts} cuts, ${proxy.accepted} connections, ${duplicates} duplicates`);
    } finally {
      await proxy.close();
    }
  }, 25_000);

  it('runs the example job jobs/mqtt-sensors.sql (its topic, client id and output moved aside)', async () => {
    const run = uid();
    const dir = tempDir();
    const topic = `ds-test/${run}/sensors`;
    const id = `ds-${run}-example`;
    sessions.push(id);
    persistentSession(id, `${topic}/#`, 1);
    const lines = [
      { sensor: 's1', value: 1, ts: '2026-12-07T12:00:10' },
      { sensor: 's1', value: 3, ts: '2026-12-07T12:00:20' },
      { sensor: 's2', value: 5, ts: '2026-12-07T12:00:30' },
      { sensor: 's2', value: 7, ts: '2026-12-07T12:02:00' }, // moves the watermark past the first minute
    ].map((l) => JSON.stringify(l));
    await publish(`${topic}/kitchen`, lines, 1);
    const sql = readFileSync('jobs/mqtt-sensors.sql', 'utf8')
      .replace("'sensors/#'", `'${topic}/#'`)
      .replace("'duckstream-sensor-stats'", `'${id}'`)
      .replace("'out/sensor-stats'", `'${dir}/stats'`);
    expect(sql).toContain(id);
    const written = async (): Promise<boolean> =>
      (await query(`SELECT count(*)::INTEGER AS c FROM ${parquet(join(dir, 'stats'))}`).catch(() => [{ c: 0 }]))[0]!['c'] === 2;
    await runUntil(dir, sql, 4, { done: written });
    const rows = await query(`SELECT sensor, n::INTEGER AS n, avg_value FROM ${parquet(join(dir, 'stats'))} ORDER BY sensor`);
    expect(rows).toEqual([
      { sensor: 's1', n: 2, avg_value: 2 },
      { sensor: 's2', n: 1, avg_value: 5 },
    ]);
  }, 20_000);
});
