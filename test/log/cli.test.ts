import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openLog, partitionForKey } from '../../src/log/index.js';
import { DIST_CLI, ensureDist } from './build.js';
import { tempDir, text } from './helpers.js';

const t = tempDir();
beforeAll(async () => {
  await ensureDist();
});
afterAll(() => t.cleanup());

function cli(args: string[], input = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [DIST_CLI, 'log', ...args], { input, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('duckstream log (CLI)', () => {
  const dir = join(t.dir, 'events');

  it('creates a log, and refuses to create it twice', () => {
    const r = cli(['create', dir, '--partitions', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('3 partition(s)');
    const again = cli(['create', dir, '--partitions', '3']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already a log/);
    expect(cli(['create', join(t.dir, 'bad'), '--partitions', 'x']).stderr).toMatch(/--partitions must be a whole number/);
  });

  it('appends NDJSON by key field (murmur2), with timestamps from a field, and reports counts per partition', async () => {
    const lines = [
      { user: 'alice', n: 1, at: '2024-01-02T03:04:05.678Z' },
      { user: 'bob', n: 2, at: 1700000000000 },
      { user: 'alice', n: 3, at: '2024-01-02T03:04:06Z' },
      { user: 42, n: 4, at: '1700000000001' },
    ].map((o) => JSON.stringify(o));
    const r = cli(['append', dir, '--key-field', 'user', '--timestamp-field', 'at'], lines.join('\n') + '\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('appended 4 record(s)');
    const log = await openLog(dir);
    const pa = partitionForKey(Buffer.from('alice'), 3);
    const p42 = partitionForKey(Buffer.from('42'), 3);
    const pb = partitionForKey(Buffer.from('bob'), 3);
    const counts = [0, 0, 0];
    for (const p of [pa, pb, pa, p42]) counts[p]!++;
    for (let p = 0; p < 3; p++) {
      if (counts[p]) expect(r.stdout).toContain(`partition ${p}: ${counts[p]}`);
      expect(log.endOffset(p)).toBe(BigInt(counts[p]!));
    }
    const alice = log.read(pa, 0n, log.endOffset(pa));
    const aliceRows = alice.values.map(text).filter((v) => v!.includes('alice'));
    expect(aliceRows).toEqual([lines[0], lines[2]]);
    const idx = alice.values.findIndex((v) => text(v) === lines[0]);
    expect(text(alice.keys[idx])).toBe('alice');
    expect(alice.timestamps[idx]).toBe(Date.parse('2024-01-02T03:04:05.678Z'));
    const b42 = log.read(p42, 0n, log.endOffset(p42));
    const i42 = b42.values.findIndex((v) => text(v) === lines[3]);
    expect(text(b42.keys[i42])).toBe('42');
    expect(b42.timestamps[i42]).toBe(1700000000001);
  });

  it('refuses the whole input when lines are invalid JSON, listing at most 10 line numbers', async () => {
    const before = (await openLog(dir)).describe().map((d) => d.endOffset);
    const input = ['{"ok":1}', 'not json', '{"ok":2}', ...Array.from({ length: 12 }, () => '{bad')].join('\n');
    const r = cli(['append', dir], input);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing appended: 13 of 15 input line\(s\) are invalid/);
    expect(r.stderr).toMatch(/line 2: invalid JSON/);
    expect(r.stderr).toMatch(/line 4: /);
    expect(r.stderr).toMatch(/line 12: /);
    expect(r.stderr).not.toMatch(/line 13: /);
    expect(r.stderr).toMatch(/and 3 more/);
    expect((await openLog(dir)).describe().map((d) => d.endOffset)).toEqual(before);
    const badTs = cli(['append', dir, '--timestamp-field', 'at'], '{"at":"yesterday-ish"}\n');
    expect(badTs.code).toBe(2);
    expect(badTs.stderr).toMatch(/line 1: field "at"/);
  });

  it('appends text lines round-robin, or to one --partition', async () => {
    const rr = join(t.dir, 'text');
    expect(cli(['create', rr, '--partitions', '2']).code).toBe(0);
    const r = cli(['append', rr, '--format', 'text'], 'a\nb\nc\n{not json}\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('partition 0: 2');
    expect(r.stdout).toContain('partition 1: 2');
    const one = cli(['append', rr, '--format', 'text', '--partition', '1'], 'x\ny\n');
    expect(one.stdout).toContain('partition 1: 2');
    const log = await openLog(rr);
    expect(log.read(0, 0n, 2n).values.map(text)).toEqual(['a', 'c']);
    expect(log.read(1, 0n, 4n).values.map(text)).toEqual(['b', '{not json}', 'x', 'y']);
    expect(cli(['append', rr, '--partition', '5'], '{}').stderr).toMatch(/no partition 5/);
  });

  it('describes partitions as a table and as JSON', async () => {
    const table = cli(['describe', dir]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toBe('partition\tstart\tend\trecords\tbytes\tsegments');
    expect(table.stdout.trim().split('\n')).toHaveLength(4);
    const json = JSON.parse(cli(['describe', dir, '--json']).stdout) as { topic: string; partitions: { endOffset: string }[] };
    expect(json.topic).toBe('events');
    const log = await openLog(dir);
    expect(json.partitions.map((p) => p.endOffset)).toEqual([0, 1, 2].map((p) => log.endOffset(p).toString()));
  });

  it('reads records as partition, offset, time, key, value', async () => {
    const log = await openLog(dir);
    const pa = partitionForKey(Buffer.from('alice'), 3);
    const r = cli(['read', dir, '--partition', String(pa)]);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows).toHaveLength(Number(log.endOffset(pa)));
    expect(rows).toContain(
      `${pa}\t${rows.findIndex((l) => l.includes('"n":1'))}\t2024-01-02T03:04:05.678Z\talice\t{"user":"alice","n":1,"at":"2024-01-02T03:04:05.678Z"}`,
    );
    const all = cli(['read', dir]).stdout.trim().split('\n');
    expect(all).toHaveLength(4);
    expect(cli(['read', dir, '--limit', '3']).stdout.trim().split('\n')).toHaveLength(3);
    const from = cli(['read', dir, '--partition', String(pa), '--from', '1'])
      .stdout.trim()
      .split('\n');
    expect(from.every((l) => Number(l.split('\t')[1]) >= 1)).toBe(true);
    expect(from).toHaveLength(Number(log.endOffset(pa)) - 1);
    const missing = cli(['read', join(t.dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/create it with: duckstream log create .* --partitions N/);
  });
});
