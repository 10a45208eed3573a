import { describe, expect, it } from 'vitest';
import { decodeRecords } from '../../src/format/index.js';
import type { ValueSchema } from '../../src/source/schema.js';
import { col, packed, rawBatch } from './helpers.js';

/** Deterministic PRNG (mulberry32) so a failure replays. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seeds = [
  '{"a":1,"b":"x","c":[1,2,{"d":null}],"e":true}',
  '{"a":-1.5e-3,"b":"tab\\t\\u00e9\\"","c":{},"e":false,"a":[]}',
  ' { "b" : "ü😀" , "c" : [ ] , "e" : null } ',
  '{"e":{"a":{"b":{"c":[[[0]]]}}},"a":"\\\\"}',
];
const alphabet = ['{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '-', '.', 'e', 'E', '+', ' ', '\n', 't', 'r', 'n', 'a', 'b', 'x', '\u0001', 'é'];

/** Every field as JSON: whatever parses is accepted, so acceptance is exactly "is it a JSON object". */
const schema: ValueSchema = ['a', 'b', 'c', 'e'].map((name) => ({ name, type: 'JSON', required: false }));

describe('the byte scanner agrees with JSON.parse', () => {
  it('on 20,000 mutated records: accepts exactly the JSON objects and keeps each field value', () => {
    const random = prng(42);
    const values: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const chars = Array.from(seeds[i % seeds.length]!);
      const edits = 1 + Math.floor(random() * 3);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(random() * (chars.length + 1));
        const ch = alphabet[Math.floor(random() * alphabet.length)]!;
        const op = random();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.7) chars.splice(at, 0, ch);
        else chars[at] = ch;
      }
      values.push(chars.join(''));
    }
    const out = decodeRecords([rawBatch('t', 0, values)], { format: 'json', schema });
    const rejected = new Map(out.deadLetters.map((d) => [Number(d.offset) - 100, d.reason]));
    const accepted: unknown[] = [];
    let objects = 0;
    for (let i = 0; i < values.length; i++) {
      let parsed: unknown;
      let ok = true;
      try {
        parsed = JSON.parse(values[i]!);
      } catch {
        ok = false;
      }
      const isObject = ok && typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
      const reason = rejected.get(i);
      if (!ok) expect(reason, values[i]).toMatch(/^invalid JSON: /);
      else if (!isObject) expect(reason, values[i]).toMatch(/^expected a JSON object, got /);
      else {
        expect(reason, values[i]).toBeUndefined();
        objects++;
        accepted.push(parsed);
      }
    }
    expect(objects).toBeGreaterThan(1000); // the mutations leave plenty of valid objects too
    expect(rejected.size).toBeGreaterThan(5000);
    for (const name of ['a', 'b', 'c', 'e']) {
      const stored = col(out.table, name).map((text) => (text === null ? undefined : JSON.parse(text as string)));
      const expected = accepted.map((o) => {
        const v = (o as Record<string, unknown>)[name];
        return v === null ? undefined : v;
      });
      expect(stored).toEqual(expected);
    }
    // the same from shared buffers with junk after every value (as the embedded log hands them over)
    const columnar = decodeRecords([packed(rawBatch('t', 0, values))], { format: 'json', schema });
    expect(columnar.deadLetters).toEqual(out.deadLetters);
    for (const name of ['a', 'b', 'c', 'e']) expect(col(columnar.table, name)).toEqual(col(out.table, name));
  });
});
