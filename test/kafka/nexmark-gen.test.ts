/** `duckstream gen nexmark --to kafka://…`: the same events as in the embedded logs, keyed for stable partitions. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { partitionForKey } from '../../src/log/murmur2.js';
import { NexmarkGenerator, nexmarkConfig, writeNexmarkLogs } from '../../src/nexmark/index.js';
import { openLog } from '../../src/log/index.js';
import { duckstream } from '../support/cli.js';
import { describeKafka, randomTopic, runKcat, sharedMockCluster } from './mock-cluster.js';

const EVENTS = 3000;
const PARTITIONS = 3;
const KINDS = ['person', 'auction', 'bid'] as const;

describeKafka('gen nexmark to Kafka', () => {
  const mock = sharedMockCluster();

  it("writes person/auction/bid under the prefix: exact counts, the embedded logs' values, keys on murmur2 partitions", async () => {
    const prefix = `${randomTopic('nx')}.`;
    for (const k of KINDS) await mock.cluster.createTopic(`${prefix}${k}`, PARTITIONS);
    const r = duckstream(['gen', 'nexmark', '--events', String(EVENTS), '--seed', '4', '--to', `kafka://${mock.bootstrap}/${prefix}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote 3000 events \(60 persons, 180 auctions, 2760 bids/);

    const dir = mkdtempSync(join(tmpdir(), 'ds-gen-kafka-'));
    try {
      const config = nexmarkConfig({ seed: 4 });
      await writeNexmarkLogs(config, { dir, events: EVENTS, partitions: 1, workers: 1 });
      const expected = new NexmarkGenerator(config, 1).generate(EVENTS);
      for (const k of KINDS) {
        const out = await runKcat(['-C', '-b', mock.bootstrap, '-t', `${prefix}${k}`, '-e', '-q', '-f', '%p|%o|%k|%s\\n']);
        const rows = out
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => {
            const [p, o, key, ...value] = l.split('|');
            return { partition: Number(p), offset: Number(o), key: key!, value: value.join('|') };
          });
        const log = await openLog(join(dir, k));
        const logValues = log.read(0, 0n, log.endOffset(0)).values.map((v) => Buffer.from(v!).toString('latin1'));
        expect(rows.length, `${k}: records`).toBe(logValues.length);
        expect(rows.length).toBe(expected[k][0]!.records);
        // All partitions together hold exactly the log's records; each partition in event order.
        const inOrder = [...rows].sort((a, b) => logValues.indexOf(a.value) - logValues.indexOf(b.value));
        expect(inOrder.map((x) => x.value)).toEqual(logValues);
        expect(inOrder[0]!.value).toBe(logValues[0]);
        expect(inOrder.at(-1)!.value).toBe(logValues.at(-1));
        for (let p = 0; p < PARTITIONS; p++) {
          const mine = rows.filter((x) => x.partition === p).sort((a, b) => a.offset - b.offset);
          expect(mine.map((x) => x.offset)).toEqual(mine.map((_, i) => i));
          const eventOrder = mine.map((x) => logValues.indexOf(x.value));
          expect(eventOrder, `${k} partition ${p} in event order`).toEqual([...eventOrder].sort((a, b) => a - b));
        }
        for (const x of rows) {
          const value = JSON.parse(x.value) as { id?: number; auction?: number };
          expect(x.key).toBe(String(k === 'bid' ? value.auction : value.id));
          expect(x.partition).toBe(partitionForKey(Buffer.from(x.key), PARTITIONS));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
