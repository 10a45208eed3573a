import { describe, expect, it } from 'vitest';
import { createSource, sinkConnectors, sourceConnectors } from '../../src/connectors/registry.js';
import { closestMatch, editDistance } from '../../src/util/suggest.js';
import { parsePositiveInt, parseWholeNumber } from '../../src/util/whole-number.js';

describe('one connector registry', () => {
  it('lists sources and sinks from the same connectors', () => {
    expect(sourceConnectors).toEqual(['log', 'kafka', 'nats', 'mqtt', 'amqp']);
    expect(sinkConnectors).toEqual(['parquet', 'jsonl', 'duckdb', 'console', 'kafka', 'nats', 'postgres']);
  });

  it('refuses source options with the same formatter as sinks, suggesting what a typo meant', async () => {
    const def = (options: Record<string, string>) => ({ name: 'ev', options, columns: undefined, line: 1 });
    await expect(createSource(def({ connector: 'log', path: '/nowhere', fromat: 'json' }))).rejects.toThrow(
      /^source 'ev': connector 'log' does not take 'fromat' \(it takes connector, path, format, .*\) — did you mean 'format'\?\n {2}fix: fix the WITH \(…\) options of source 'ev'/,
    );
    await expect(createSource(def({ format: 'json' }))).rejects.toThrow(/source 'ev': connector 'log' needs path = '<log directory>'/);
    await expect(createSource(def({ connector: 'kafak' }))).rejects.toThrow(
      /unknown connector 'kafak'\n {2}fix: use one of 'log', 'kafka', 'nats', 'mqtt', 'amqp' \(did you mean 'kafka'\?\)/,
    );
    await expect(createSource(def({ connector: 'log', path: '/nowhere', max_value_bytes: '1e3' }))).rejects.toThrow(
      /max_value_bytes = '1e3' must be a positive whole number/,
    );
  });
});

describe('closestMatch', () => {
  it('counts a swap of neighbours as one edit, and suggests only close names', () => {
    expect(editDistance('fromat', 'format')).toBe(1);
    expect(closestMatch('pth', ['connector', 'path', 'compression'])).toBe('path');
    expect(closestMatch('xyz', ['connector', 'path'])).toBeUndefined();
  });
});

describe('whole numbers in options and flags', () => {
  it('are decimal digits only', () => {
    expect(parsePositiveInt('1000')).toBe(1000);
    for (const bad of ['0', '1e3', '0x10', ' 5', '5.0', '-1', '', '99999999999999999999']) expect(parsePositiveInt(bad)).toBeUndefined();
    expect(parseWholeNumber('0')).toBe(0);
  });
});
