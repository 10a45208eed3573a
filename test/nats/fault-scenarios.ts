import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { prng } from '../../src/demo/pageviews.js';
import type { BatchProgress } from '../../src/driver/progress.js';
import { runJob } from '../../src/driver/run-job.js';
import { duckstream, killRepeatedly } from '../support/cli.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { parquet, query, tempDir } from '../kafka/kafka-job.js';
import { describeNats, NATS_PORT, NATS_URL, natsClient, randomName, readStream, type NatsTestClient } from './nats-harness.js';

export interface FaultSizes {
  /** Messages read through the proxy, records per partition per batch, and the period of cuts during the run (0: none). */
  readonly cut: { readonly messages: number; readonly cap: number; readonly everyMs: number };
  /** Rows through a killed `duckstream run`, records per batch, SIGKILL rounds. */
  readonly kill: { readonly rows: number; readonly cap: number; readonly rounds: number };
}

/** The NATS fault scenarios: short in the default suite (test/nats/faults.test.ts), long in test/faults/nats.faults.ts. */
export function natsFaults(title: string, sizes: FaultSizes): void {
  describeNats(title, () => {
    let client: NatsTestClient;
    let proxy: TcpProxy | undefined;
    beforeEach(async () => {
      client = await natsClient();
    });
    afterEach(async () => {
      await proxy?.close();
      proxy = undefined;
      await client.cleanup();
    });

    it(
      'completes with every message exactly once in Parquet when its connection is cut between and during batches',
      async () => {
        const stream = randomName('cut');
        await client.stream(stream);
        const N = sizes.cut.messages;
        const seqs = await client.publish(Array.from({ length: N }, (_, i) => ({ subject: `${stream}.${i % 3}`, data: JSON.stringify({ id: i }) })));
        proxy = await startTcpProxy(NATS_PORT);
        const p = proxy;
        const dir = tempDir('ds-nats-cut-');
        const jobFile = join(dir, 'job.sql');
        writeFileSync(
          jobFile,
          `CREATE SOURCE ev WITH (connector = 'nats', servers = 'nats://127.0.0.1:${p.port}', stream = '${stream}', subjects = '${stream}.0,${stream}.1,${stream}.2',
         schema = 'id INTEGER', max_records_per_partition = '${sizes.cut.cap}', read_timeout_ms = '3000', request_timeout_ms = '750', retry_backoff_ms = '50');
       CREATE SINK out WITH (connector = 'parquet', path = '${dir}/out') AS SELECT id, _partition AS p, _offset AS o FROM ev;`,
        );
        const progress: BatchProgress[] = [];
        const notes: string[] = [];
        // cut after batches 1 and 3 (the next read reconnects), 30 ms into batch 2 (inside a read), and every `everyMs` while the job runs
        const timer = sizes.cut.everyMs > 0 ? setInterval(() => p.cut(), sizes.cut.everyMs) : undefined;
        try {
          await runJob({
            jobFile,
            checkpoint: join(dir, 'ck'),
            trigger: { kind: 'available-now' },
            onBatch: (b) => {
              progress.push(b);
              if (progress.length === 1 || progress.length === 3) p.cut();
              if (progress.length === 1) setTimeout(() => p.cut(), 30);
            },
            note: (m) => notes.push(m),
          });
        } finally {
          if (timer) clearInterval(timer);
        }
        expect(p.accepted).toBeGreaterThan(2);
        const rows = await query(
          `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d, min(id)::INTEGER AS lo, max(id)::INTEGER AS hi FROM ${parquet(join(dir, 'out'))}`,
        );
        expect(rows[0]).toEqual({ n: N, d: N, lo: 0, hi: N - 1 });
        const placed = await query(`SELECT id::INTEGER AS id, p::INTEGER AS p, o::INTEGER AS o FROM ${parquet(join(dir, 'out'))} ORDER BY id`);
        expect(placed.every((r, i) => r['p'] === i % 3 && r['o'] === seqs[i])).toBe(true);
      },
      60_000 + sizes.cut.messages * 5,
    );

    it(
      'SIGKILL of duckstream run with a NATS sink: after restarts the subject holds every row exactly once',
      async () => {
        const input = randomName('kin');
        const output = randomName('kout');
        await client.stream(input);
        await client.stream(output, { duplicate_window: 100_000_000 }); // 100 ms: the restart must not lean on the server's dedupe
        const N = sizes.kill.rows;
        await client.publish(Array.from({ length: N }, (_, i) => ({ subject: `${input}.e`, data: JSON.stringify({ id: i }) })));
        const dir = tempDir('ds-nats-kill-');
        writeFileSync(
          join(dir, 'job.sql'),
          `CREATE SOURCE ev WITH (connector = 'nats', servers = '${NATS_URL}', stream = '${input}', schema = 'id INTEGER');
       CREATE SINK out WITH (connector = 'nats', servers = '${NATS_URL}', subject = '${output}.rows', max_in_flight = '50') AS SELECT id, _offset AS o FROM ev;`,
        );
        const ck = join(dir, 'ck');
        const args = ['run', join(dir, 'job.sql'), '--checkpoint', ck, '--trigger', '20ms', '--max-records-per-partition', String(sizes.kill.cap)];
        const log = await killRepeatedly(args, ck, { rounds: sizes.kill.rounds, rand: prng(7), maxDelayMs: 150 });
        const finish = duckstream(['run', join(dir, 'job.sql'), '--checkpoint', ck, '--trigger', 'available-now']);
        expect(finish.status, `${log}\nfinish: ${finish.stderr}`).toBe(0);
        const got = await readStream(client, output);
        const ids = got.map((m) => (JSON.parse(m.data) as { id: number }).id);
        const counts = new Map<number, number>();
        for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
        const dupes = [...counts].filter(([, n]) => n > 1);
        expect(dupes, log).toEqual([]);
        expect(ids.length, log).toBe(N);
        expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
      },
      60_000 + sizes.kill.rounds * 30_000,
    );
  });
}
