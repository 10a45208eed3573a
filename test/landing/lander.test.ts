import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Lander, LandingSource, type BrokerFeed } from '../../src/landing/index.js';
import { openLog } from '../../src/log/index.js';
import { tempDir, text } from '../log/helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function dir(): string {
  const t = tempDir('duckstream-landing-');
  cleanups.push(t.cleanup);
  return join(t.dir, 'landed');
}

const body = (o: object): Uint8Array => Buffer.from(JSON.stringify(o));

async function values(path: string): Promise<string[]> {
  const log = await openLog(path);
  const b = log.read(0, 0n, log.endOffset(0));
  return Array.from({ length: b.count }, (_, i) => text(b.values[i])!);
}

describe('Lander', () => {
  it('lands concurrent messages in order, in fewer fsynced appends than messages, each durable before land() resolves', async () => {
    const path = dir();
    const lander = await Lander.open(path, { what: 'test' });
    const seenAtResolve: bigint[] = [];
    const n = 500;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        lander.land({ value: body({ n: i }), key: `t/${i % 3}`, timestamp: 1000 + i }).then(async (r) => {
          // what another process would see at ack time: the record is in the files already
          seenAtResolve.push((await openLog(path)).endOffset(0));
          return r;
        }),
      ),
    );
    expect(results.map((r) => (r.outcome === 'landed' ? Number(r.offset) : -1))).toEqual(Array.from({ length: n }, (_, i) => i));
    results.forEach((r, i) => expect(seenAtResolve[i]).toBeGreaterThan(r.outcome === 'landed' ? r.offset : -1n));
    expect(lander.stats.landed).toBe(n);
    expect(lander.stats.appends).toBeLessThan(n / 5);
    await lander.close();
    expect(await values(path)).toEqual(Array.from({ length: n }, (_, i) => JSON.stringify({ n: i })));
    const log = await openLog(path);
    const b = log.read(0, 0n, 3n);
    expect([text(b.keys[0]), text(b.keys[1]), text(b.keys[2])]).toEqual(['t/0', 't/1', 't/2']);
    expect(Array.from(b.timestamps)).toEqual([1000, 1001, 1002]);
  });

  it('drops a message whose dedupe_key field was landed before, also after a reopen (the index is rebuilt from the log)', async () => {
    const path = dir();
    let lander = await Lander.open(path, { what: 'test', dedupeKey: 'id' });
    expect((await lander.land({ value: body({ id: 'a', v: 1 }) })).outcome).toBe('landed');
    expect((await lander.land({ value: body({ id: 'b', v: 2 }) })).outcome).toBe('landed');
    expect((await lander.land({ value: body({ id: 'a', v: 1 }) })).outcome).toBe('duplicate');
    // a dedupe_key is checked even on a first delivery (a publisher's retry is the same message)
    expect((await lander.land({ value: body({ id: 'a', v: 1 }), dedupeId: 'x', redelivered: false })).outcome).toBe('duplicate');
    // the same identity twice in one group: the second is dropped
    const [x, y] = await Promise.all([lander.land({ value: body({ id: 'c' }) }), lander.land({ value: body({ id: 'c' }) })]);
    expect([x.outcome, y.outcome]).toEqual(['landed', 'duplicate']);
    expect(lander.stats).toMatchObject({ landed: 3, duplicates: 3 });
    await lander.close();

    lander = await Lander.open(path, { what: 'test', dedupeKey: 'id' });
    expect((await lander.land({ value: body({ id: 'b', v: 2 }) })).outcome).toBe('duplicate');
    expect((await lander.land({ value: body({ id: 'd' }) })).outcome).toBe('landed');
    // no field, or not JSON: landed without an identity
    expect((await lander.land({ value: Buffer.from('not json') })).outcome).toBe('landed');
    expect((await lander.land({ value: Buffer.from('not json') })).outcome).toBe('landed');
    await lander.close();
    expect(await values(path)).toEqual(['{"id":"a","v":1}', '{"id":"b","v":2}', '{"id":"c"}', '{"id":"d"}', 'not json', 'not json']);
  });

  it('broker ids: redelivered=false skips the check, forget() frees an id, the window bounds what is remembered', async () => {
    const path = dir();
    const lander = await Lander.open(path, { what: 'test', dedupeWindow: 2 });
    expect((await lander.land({ value: body({}), dedupeId: 'm1', redelivered: false })).outcome).toBe('landed');
    expect((await lander.land({ value: body({}), dedupeId: 'm1', redelivered: true })).outcome).toBe('duplicate');
    expect((await lander.land({ value: body({}), dedupeId: 'm1', redelivered: false })).outcome).toBe('landed');
    lander.forget('m1');
    expect((await lander.land({ value: body({}), dedupeId: 'm1' })).outcome).toBe('landed');
    await lander.land({ value: body({}), dedupeId: 'm2' });
    await lander.land({ value: body({}), dedupeId: 'm3' });
    expect((await lander.land({ value: body({}), dedupeId: 'm1' })).outcome).toBe('landed'); // evicted from a window of 2
    expect(lander.stats).toMatchObject({ landed: 6, duplicates: 1 });
    await lander.close();
  });

  it('calls afterAppend after the fsync and before land() resolves', async () => {
    const path = dir();
    const order: string[] = [];
    const lander = await Lander.open(path, { what: 'test', afterAppend: (n) => order.push(`appended ${n}`) });
    await lander.land({ value: body({ a: 1 }) }).then(() => order.push('acked'));
    await lander.close();
    expect(order).toEqual(['appended 1', 'acked']);
  });

  it('a second lander on the same log is refused while the first holds it', async () => {
    const path = dir();
    const a = await Lander.open(path, { what: 'first' });
    await a.land({ value: body({}) });
    const b = await Lander.open(path, { what: 'second' });
    await expect(b.land({ value: body({}) })).rejects.toThrow(/append|lock|pid/i);
    await b.close();
    await a.close();
  });
});

/** A feed that hands what the test pushes to the lander and records the acks (no broker: the lander's contract only). */
class TestFeed implements BrokerFeed {
  acked: number[] = [];
  stopped = false;
  private lander: Lander | undefined;
  async start(lander: Lander): Promise<void> {
    this.lander = lander;
  }
  async push(n: number): Promise<void> {
    await this.lander!.land({ value: body({ n }), key: 'k' });
    this.acked.push(n);
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

describe('LandingSource', () => {
  it('reads the landed records as a log source, with the lander started on open and stopped on close', async () => {
    const path = dir();
    const feed = new TestFeed();
    const source = await LandingSource.open('events', {
      landingDir: path,
      feed,
      lander: { what: "source 'events'" },
      format: 'json',
      schema: [{ name: 'n', type: 'BIGINT', required: false }],
      maxValueBytes: undefined,
      timestampColumns: [],
    });
    await Promise.all([1, 2, 3].map((n) => feed.push(n)));
    expect(feed.acked.sort()).toEqual([1, 2, 3]);
    const latest = await source.latestOffsets();
    expect([...latest.values()]).toEqual([3n]);
    const [pk] = [...latest.keys()];
    const batch = await source.read([{ topic: 'landed', partition: 0, from: 0n, until: 3n }]);
    expect(batch.table.numRows).toBe(3);
    expect(Array.from(batch.table.getChild('n')!.toArray() as ArrayLike<bigint>, Number)).toEqual([1, 2, 3]);
    expect(batch.table.getChild('_key')!.get(0)).toBe('k');
    expect(pk).toContain('landed');
    expect(source.landing.landed).toBe(3);
    await source.close();
    expect(feed.stopped).toBe(true);
  });
});

describe('Lander broker-id window', () => {
  it('rebuilds broker ids only from the last brokerIdWindow records, dedupe_key ids from the whole window', async () => {
    const path = dir();
    let lander = await Lander.open(path, { what: 'test', dedupeKey: 'id' });
    await lander.land({ value: body({ id: 'x' }), dedupeId: 'b:1' }); // key identity wins
    await lander.land({ value: body({}), dedupeId: 'b:2' });
    await lander.land({ value: body({}), dedupeId: 'b:3' });
    await lander.close();
    lander = await Lander.open(path, { what: 'test', dedupeKey: 'id', brokerIdWindow: 1 });
    expect((await lander.land({ value: body({ id: 'x' }) })).outcome).toBe('duplicate');
    expect((await lander.land({ value: body({}), dedupeId: 'b:2' })).outcome).toBe('landed');
    expect((await lander.land({ value: body({}), dedupeId: 'b:3' })).outcome).toBe('duplicate');
    await lander.close();
  });
});
