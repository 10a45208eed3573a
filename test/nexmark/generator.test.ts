/** The Nexmark generator: the reference's proportions, id rules and timestamps; deterministic for a seed. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLog } from '../../src/log/index.js';
import { NexmarkGenerator, kindOf, nexmarkConfig, writeNexmarkLogs, type EventChunk } from '../../src/nexmark/index.js';
import { duckstream } from '../support/cli.js';

const lines = (c: EventChunk, k: keyof EventChunk) => c[k].flatMap((w) => w.lines());

describe('nexmark generator', () => {
  it('follows the 1:3:46 proportions by event id, with sequential person and auction ids', () => {
    const config = nexmarkConfig({ seed: 3 });
    const chunk = new NexmarkGenerator(config, 1).generate(5000);
    const person = lines(chunk, 'person').map((l) => JSON.parse(l) as { id: number; date_time: string });
    const auction = lines(chunk, 'auction').map(
      (l) => JSON.parse(l) as { id: number; seller: number; category: number; expires: string; date_time: string; initial_bid: number; reserve: number },
    );
    const bid = lines(chunk, 'bid').map(
      (l) => JSON.parse(l) as { auction: number; bidder: number; price: number; channel: string; url: string; date_time: string; extra: string },
    );
    expect([person.length, auction.length, bid.length]).toEqual([100, 300, 4600]);
    expect([kindOf(config, 0), kindOf(config, 1), kindOf(config, 3), kindOf(config, 4), kindOf(config, 50)]).toEqual([
      'person',
      'auction',
      'auction',
      'bid',
      'person',
    ]);
    expect(person.map((p) => p.id)).toEqual(person.map((_, i) => 1000 + i));
    expect(auction.map((a) => a.id)).toEqual(auction.map((_, i) => 1000 + i));
    for (const a of auction) {
      expect(a.category).toBeGreaterThanOrEqual(10);
      expect(a.category).toBeLessThan(15);
      expect(Date.parse(a.expires)).toBeGreaterThan(Date.parse(a.date_time));
      expect(a.reserve).toBeGreaterThanOrEqual(a.initial_bid);
    }
    // about half the bids go to the hot auction of their batch of 100, and three quarters come from hot bidders
    const hot = bid.filter((b) => (b.auction - 1000) % 100 === 0).length / bid.length;
    expect(hot).toBeGreaterThan(0.45);
    const hotBidders = bid.filter((b) => (b.bidder - 1000) % 100 === 1).length / bid.length;
    expect(hotBidders).toBeGreaterThan(0.7);
    for (const b of bid) {
      expect(b.price).toBeGreaterThanOrEqual(100);
      expect(b.price).toBeLessThanOrEqual(100_000_000);
      expect(b.url).toMatch(/^https:\/\/www\.nexmark\.com\/[a-z_]+\/[a-z_]+\/[a-z_]+\/item\.htm\?query=1/);
      expect(b.extra.length).toBeGreaterThanOrEqual(54); // 100 − 32 bytes, ± 20 %
      expect(b.extra.length).toBeLessThan(82);
    }
    // event times: baseTime + n / rate (10,000 events/s): event 4999 at +499 ms
    expect(bid.at(-1)!.date_time).toBe('2026-01-01T00:00:00.499Z');
  });

  it('keeps the events of a seed byte for byte (digest pinned from the generator before the issue-6 speed-ups)', () => {
    const chunk = new NexmarkGenerator(nexmarkConfig({ seed: 1 }), 4).generate(20000);
    const hash = createHash('sha256');
    for (const k of ['person', 'auction', 'bid'] as const) for (const line of lines(chunk, k)) hash.update(`${line}\n`);
    expect(hash.digest('hex')).toBe('f8014be7e3dc9e7a8f098a5710b57e2051b9592f25b928d0afe3fdb2b92fb8c2');
  });

  it('gives the same records for the same seed whatever the chunk sizes, and other records for another seed', () => {
    const config = nexmarkConfig({ seed: 11, rate: 1000 });
    const a = new NexmarkGenerator(config, 2).generate(3000);
    const g = new NexmarkGenerator(config, 2);
    const parts = [g.generate(1), g.generate(1234), g.generate(1765)];
    for (const k of ['person', 'auction', 'bid'] as const) {
      for (let p = 0; p < 2; p++) expect(parts.flatMap((c) => c[k][p]!.lines())).toEqual(a[k][p]!.lines());
    }
    const other = new NexmarkGenerator(nexmarkConfig({ seed: 12, rate: 1000 }), 2).generate(3000);
    expect(other.bid[0]!.lines()).not.toEqual(a.bid[0]!.lines());
  });

  it('gives every event the same content whatever the partition count, the partitions generated, or framing', () => {
    const config = nexmarkConfig({ seed: 5, rate: 500 });
    const one = new NexmarkGenerator(config, 1).generate(2000);
    const three = new NexmarkGenerator(config, 3).generate(2000);
    for (const k of ['person', 'auction', 'bid'] as const) {
      const all = one[k][0]!.lines();
      // partition p of 3 holds records p, p + 3, … of the kind, in event order
      for (let p = 0; p < 3; p++) expect(three[k][p]!.lines()).toEqual(all.filter((_, i) => i % 3 === p));
    }
    // two generators splitting the partitions (as worker threads do), writing framed log records
    for (const mine of [0, 1]) {
      const g = new NexmarkGenerator(config, 3);
      const out = g.writers(2000, true, (p) => p % 2 === mine);
      g.generateInto(1200, out);
      g.generateInto(800, out);
      for (const k of ['person', 'auction', 'bid'] as const) {
        for (let p = 0; p < 3; p++) expect(out[k][p]!.lines()).toEqual(p % 2 === mine ? three[k][p]!.lines() : []);
      }
    }
  });

  it('duckstream gen nexmark with worker threads writes the same records as one thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-gen-'));
    try {
      const config = nexmarkConfig({ seed: 9 });
      const r = duckstream(['gen', 'nexmark', '--events', '5000', '--seed', '9', '--partitions', '3', '--workers', '2', '--to', join(dir, 'threads')]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/wrote 5000 events \(100 persons, 300 auctions, 4600 bids, [\d.]+ MB\) to .* with 2 threads/);
      await writeNexmarkLogs(config, { dir: join(dir, 'one'), events: 5000, partitions: 3, workers: 1, chunk: 700 });
      const expected = new NexmarkGenerator(config, 3).generate(5000);
      for (const k of ['person', 'auction', 'bid'] as const) {
        const threads = await openLog(join(dir, 'threads', k));
        const one = await openLog(join(dir, 'one', k));
        for (let p = 0; p < 3; p++) {
          const end = threads.endOffset(p);
          expect(end).toBe(BigInt(expected[k][p]!.records));
          expect(one.endOffset(p)).toBe(end);
          expect(threads.read(p, 0n, end).values.map((v) => Buffer.from(v!).toString('latin1'))).toEqual(expected[k][p]!.lines());
          expect(one.read(p, 0n, end).values.map((v) => Buffer.from(v!).toString('latin1'))).toEqual(expected[k][p]!.lines());
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('duckstream gen nexmark writes three logs with round-robin partitions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-gen-'));
    try {
      const r = duckstream(['gen', 'nexmark', '--events', '1000', '--partitions', '3', '--to', join(dir, 'nx')]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/wrote 1000 events \(20 persons, 60 auctions, 920 bids/);
      const bids = await openLog(join(dir, 'nx/bid'));
      expect(bids.describe().map((p) => Number(p.endOffset))).toEqual([307, 307, 306]);
      const refused = duckstream(['gen', 'nexmark', '--events', '10', '--to', 'kafka://localhost/nx-']);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/expected kafka:\/\/host:port\[,host:port…\]\[\/prefix\], got broker 'localhost'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
