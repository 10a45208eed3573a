import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeadLetterWriter } from '../../src/sink/dead-letter-writer.js';
import type { DeadLetter } from '../../src/source/source.js';
import { withTempDir } from './helpers.js';

const letters: DeadLetter[] = [
  {
    topic: 'events',
    partition: 2,
    offset: 9007199254740993n,
    timestamp: Date.UTC(2025, 4, 6, 7, 8, 9, 123),
    key: new TextEncoder().encode('k-é'),
    value: new TextEncoder().encode('{"bad json'),
    reason: 'value is not valid JSON: Unterminated string',
  },
  {
    topic: 'events',
    partition: 0,
    offset: 7n,
    timestamp: 0,
    key: null,
    value: new Uint8Array([0xff, 0x00, 0xc3]),
    reason: 'value is not valid UTF-8',
  },
];

describe('DeadLetterWriter', () => {
  it('writes one JSON object per record, replay-safe, no file for a batch without dead letters', () =>
    withTempDir(async (dir) => {
      const writer = new DeadLetterWriter(join(dir, 'dead'));
      writer.write(4, letters);
      writer.write(4, letters);
      writer.write(5, []);
      expect(readdirSync(join(dir, 'dead'))).toEqual(['batch-0000000004.jsonl']);
      expect(existsSync(writer.fileFor(5))).toBe(false);
      expect(readFileSync(writer.fileFor(4), 'utf8')).toBe(
        '{"topic":"events","partition":2,"offset":"9007199254740993","timestamp":"2025-05-06T07:08:09.123Z",' +
          '"key":"k-é","key_base64":"ay3DqQ==","value":"{\\"bad json","value_base64":"eyJiYWQganNvbg==",' +
          '"reason":"value is not valid JSON: Unterminated string","batch_id":4}\n' +
          '{"topic":"events","partition":0,"offset":"7","timestamp":"1970-01-01T00:00:00.000Z",' +
          '"key":null,"key_base64":null,"value":null,"value_base64":"/wDD","reason":"value is not valid UTF-8","batch_id":4}\n',
      );
    }));
});
