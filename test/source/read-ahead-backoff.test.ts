import { expect, it } from 'vitest';
import { ReadAheadBackoff } from '../../src/connectors/kafka/read-ahead-backoff.js';

it('lets 1, 2, 4 … 16 chances go after reads ahead for nothing, and none once one is used', () => {
  const b = new ReadAheadBackoff();
  const pattern = (n: number) => Array.from({ length: n }, () => (b.take() ? 'x' : '.')).join('');
  expect(pattern(3)).toBe('xxx');
  const skipsAfterDiscard = () => {
    b.discarded();
    let skipped = 0;
    while (!b.take()) skipped++;
    return skipped;
  };
  expect([1, 2, 3, 4, 5, 6].map(skipsAfterDiscard)).toEqual([1, 2, 4, 8, 16, 16]);
  b.used();
  expect(pattern(3)).toBe('xxx');
  expect(skipsAfterDiscard()).toBe(1);
});
