import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';

describe('public API (src/index.ts)', () => {
  it('exports what a library user needs and no internals', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'CorruptFileError',
        'DStream',
        'DuckstreamError',
        'EmbeddedLog',
        'MapWithStateDStream',
        'Sql',
        'StateSpec',
        'StreamingContext',
        'col',
        'createLog',
        'loadDStreamJob',
        'millis',
        'minutes',
        'openLog',
        'parseTrigger',
        'partitionForKey',
        'runDStreamJob',
        'runJob',
        'seconds',
        'sql',
      ].sort(),
    );
  });

  it('creates, appends to and reads an embedded log through it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-api-'));
    try {
      const log = await api.createLog(join(dir, 'clicks'), { partitions: 2 });
      await log.append(1, [{ key: Buffer.from('k'), value: Buffer.from('{"a":1}'), timestamp: 5 }]);
      await log.close();
      const again = await api.openLog(join(dir, 'clicks'));
      expect(again.endOffset(0)).toBe(0n);
      expect(again.endOffset(1)).toBe(1n);
      const batch = again.read(1, 0n, 1n);
      expect(batch.count).toBe(1);
      expect(Buffer.from(batch.values[0]!).toString()).toBe('{"a":1}');
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('error classes carry their domain, and a damaged file is a DuckstreamError', () => {
    const err = new api.CorruptFileError('/x/offsets/3', 'bad checksum');
    expect(err).toBeInstanceOf(api.DuckstreamError);
    expect(err.domain).toBe('external');
    expect(err.message).toBe('/x/offsets/3: bad checksum');
  });
});
