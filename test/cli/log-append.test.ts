import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLog, openLog } from '../../src/log/index.js';
import { duckstream } from '../support/cli.js';

/** `duckstream log append` stores every byte as given, or refuses the input whole. */
let dir: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ds-append-'));
  await (await createLog(join(dir, 'log'), { partitions: 1 })).close();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function values(): Promise<string[]> {
  const log = await openLog(join(dir, 'log'));
  try {
    const batch = log.read(0, 0n, log.endOffset(0));
    return batch.values.map((v) => Buffer.from(v!).toString('hex'));
  } finally {
    await log.close();
  }
}

const hex = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)))).toString('hex');

describe('log append', () => {
  it('refuses a text line that is not UTF-8, naming the line and --format raw, and appends nothing', async () => {
    const input = Buffer.concat([Buffer.from('good\n'), Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a]), Buffer.from('also good\n')]);
    const run = duckstream(['log', 'append', join(dir, 'log'), '--format', 'text'], { input });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /nothing appended: 1 of 3 input line\(s\) are invalid:\n {2}line 2: not valid UTF-8 \(use --format raw to store bytes that are not text\)/,
    );
    expect(await values()).toEqual([]);
  });

  it('refuses a JSON line that is not UTF-8 (no replacement characters reach the log)', async () => {
    const input = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
    const run = duckstream(['log', 'append', join(dir, 'log')], { input });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/line 1: not valid UTF-8/);
    expect(await values()).toEqual([]);
  });

  it('--format raw stores any bytes of each line exactly: invalid UTF-8, NUL, a CR before the LF, an empty line', async () => {
    const input = Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0a, 0x61, 0x0d, 0x0a, 0x0a, 0x62]);
    const run = duckstream(['log', 'append', join(dir, 'log'), '--format', 'raw'], { input });
    expect(run.status, run.stderr).toBe(0);
    expect(await values()).toEqual([hex([0xff, 0xfe, 0x00, 0x01]), hex([0x61, 0x0d]), '', hex('b')]);
  });

  it('JSON and text lines are stored as written, not re-encoded; a CRLF ending is a line ending', async () => {
    const json = '{"u":"é","n":1}\n{"u":"\\u00e9", "n" : 2}\r\n';
    expect(duckstream(['log', 'append', join(dir, 'log')], { input: json }).status).toBe(0);
    const text = 'ünïcode\r\n\nlast';
    expect(duckstream(['log', 'append', join(dir, 'log'), '--format', 'text'], { input: text }).status).toBe(0);
    expect(await values()).toEqual([hex('{"u":"é","n":1}'), hex('{"u":"\\u00e9", "n" : 2}'), hex('ünïcode'), '', hex('last')]);
  });
});
