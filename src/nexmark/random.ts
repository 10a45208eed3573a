import type { ByteWriter } from './byte-writer.js';

/**
 * The generator's randomness: one seeded stream (mulberry32) consumed in event order, so a seed always gives the
 * same events. Random text comes from pools of pre-drawn characters: a string is a slice at a random position,
 * which keeps generation at millions of events per second (drawing ~70 padding characters one by one per bid
 * would cost more than everything else together).
 */
export class NexmarkRandom {
  private state: number;
  /** Lower-case letters: `extra` padding (the reference's nextExactString). */
  readonly letters: Buffer;
  /** Letters with a space one time in 13: names and descriptions (the reference's nextString). */
  readonly words: Buffer;

  constructor(seed: number, poolChars = 1 << 20, wordChars = 1 << 16) {
    this.state = (seed ^ 0x9e3779b9) >>> 0;
    this.letters = this.pool(poolChars, false);
    this.words = this.pool(wordChars, true);
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextDouble(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextDouble() * n);
  }

  /** Uniform integer in [0, n) for n beyond 2^32 too (53 bits of randomness). */
  nextLong(n: number): number {
    const x = this.nextU32() * 2097152 + (this.nextU32() >>> 11);
    return Math.floor((x / 9007199254740992) * n);
  }

  /** The reference's price: round(10^(6u) × 100), i.e. log-uniform from 1.00 to 1,000,000.00 (in cents). */
  nextPrice(): number {
    return Math.round(Math.pow(10, this.nextDouble() * 6) * 100);
  }

  /**
   * Write a string of 3 to maxLength − 1 letters and spaces, trimmed (the reference's nextString); returns its
   * length.
   */
  writeString(w: ByteWriter, maxLength: number): number {
    let len = 3 + this.nextInt(maxLength - 3);
    let at = this.nextInt(this.words.length - len);
    while (len > 0 && this.words[at] === 32) (at++, len--);
    while (len > 0 && this.words[at + len - 1] === 32) len--;
    w.slice(this.words, at, len);
    return len;
  }

  /** Write padding so that currentSize + its length averages desiredAverageSize (±20 %), as the reference's nextExtra. */
  writeExtra(w: ByteWriter, currentSize: number, desiredAverageSize: number): void {
    if (currentSize > desiredAverageSize) return;
    const want = desiredAverageSize - currentSize;
    const delta = Math.round(want * 0.2);
    const len = want - delta + (delta === 0 ? 0 : this.nextInt(2 * delta));
    w.slice(this.letters, this.nextInt(this.letters.length - len), len);
  }

  private pool(n: number, spaces: boolean): Buffer {
    const codes = Buffer.alloc(n);
    for (let i = 0; i < n; i++) codes[i] = spaces && this.nextInt(13) === 0 ? 32 : 97 + this.nextInt(26);
    return codes;
  }
}
