import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { murmur2, partitionForKey } from '../../src/log/index.js';

const require = createRequire(import.meta.url);
/** kafkajs's port of the Java client's murmur2 (its DefaultPartitioner, "JavaCompatiblePartitioner"). */
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('murmur2', () => {
  // Apache Kafka, clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %j like the Java client', (input, expected) => {
    expect(murmur2(enc(input))).toBe(expected);
  });

  it("matches kafkajs's Java-compatible murmur2 on many keys of every length remainder, including high bytes", () => {
    let s = 99;
    for (let n = 0; n < 2000; n++) {
      const key = Buffer.alloc(n % 41);
      for (let i = 0; i < key.length; i++) key[i] = (s = (s * 1103515245 + 12345) & 0x7fffffff) & 255;
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
    }
  });

  it('partitions like toPositive(murmur2(key)) % n', () => {
    expect(partitionForKey(enc('foobar'), 10)).toBe(6); // (-790332482 & 0x7fffffff) % 10
    expect(partitionForKey(enc('foobar'), 50)).toBe(16);
    expect(partitionForKey(enc('21'), 7)).toBe((-973932308 & 0x7fffffff) % 7);
    for (let p = 1; p < 20; p++) expect(partitionForKey(enc(`key-${p}`), p)).toBeLessThan(p);
  });
});
