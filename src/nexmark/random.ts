import type { ByteWriter, TextPools } from './byte-writer.js';

/**
 * The generator's randomness. Each event draws from its own stream (mulberry32 started from a hash of the seed
 * and the event number), so an event's content depends on the seed and its number only: the same seed gives
 * the same events whatever the chunk sizes, partition counts or number of worker threads generating them, and
 * a thread can skip events it does not own without drawing for them.
 *
 * Random text comes from pools of pre-drawn characters (drawn once from the seed): a string is a slice at a
 * random position, which keeps generation at millions of events per second (drawing ~70 padding characters one
 * by one per bid would cost more than everything else together).
 */
export class NexmarkRandom implements TextPools {
  /**
   * The mulberry32 state (as int32: the same bits as the reference's uint32). In a typed array because a number
   * field holding values beyond V8's small integers (2^30) allocates a heap number, with a write barrier, at
   * every draw.
   */
  private readonly state = new Int32Array(1);
  private readonly seedHash: number;
  /** Lower-case letters: `extra` padding (the reference's nextExactString). */
  readonly letters: Buffer;
  /** Letters with a space one time in 13: names and descriptions (the reference's nextString). */
  readonly words: Buffer;

  constructor(seed: number, poolChars = 1 << 16, wordChars = 1 << 14) {
    this.seedHash = fmix32((seed ^ 0x9e3779b9) >>> 0);
    this.state[0] = seed ^ 0x9e3779b9;
    this.letters = this.pool(poolChars, false);
    this.words = this.pool(wordChars, true);
  }

  /** Start the stream of event `id` (a non-negative integer below 2^53). */
  startEvent(id: number): void {
    const lo = id >>> 0;
    const hi = (id - lo) / 4294967296;
    this.state[0] = fmix32((Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca77) ^ this.seedHash) >>> 0);
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    let t = (this.state[0]! + 0x6d2b79f5) | 0;
    this.state[0] = t;
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

  /**
   * The reference's price: round(10^(6u) × 100), i.e. log-uniform from 1.00 to 1,000,000.00 (in cents). Computed
   * as a table entry for u's top 12 bits times a short series for the rest (within a cent; Math.pow costs ~90 ns).
   */
  nextPrice(): number {
    const n = this.nextU32();
    const y = (n & 0xfffff) * PRICE_STEP;
    return Math.round(PRICE_TABLE[n >>> 20]! * (1 + y + y * y * 0.5 + y * y * y * (1 / 6)));
  }

  /**
   * Write a string of 3 to maxLength − 1 letters and spaces, trimmed (the reference's nextString); returns its
   * length. `w` must carry this generator's pools.
   */
  writeString(w: ByteWriter, maxLength: number): number {
    this.pickString(maxLength);
    w.words(this.pickedAt, this.pickedLength);
    return this.pickedLength;
  }

  /** A string as `writeString` writes it. */
  nextString(maxLength: number): string {
    this.pickString(maxLength);
    return this.words.toString('latin1', this.pickedAt, this.pickedAt + this.pickedLength);
  }

  private pickedAt = 0;
  private pickedLength = 0;

  /** Pick a slice of `words` (into pickedAt/pickedLength: no object per string). */
  private pickString(maxLength: number): void {
    let len = 3 + this.nextInt(maxLength - 3);
    let at = this.nextInt(this.words.length - len);
    while (len > 0 && this.words[at] === 32) (at++, len--);
    while (len > 0 && this.words[at + len - 1] === 32) len--;
    this.pickedAt = at;
    this.pickedLength = len;
  }

  /** Write padding so that currentSize + its length averages desiredAverageSize (±20 %), as the reference's nextExtra. */
  writeExtra(w: ByteWriter, currentSize: number, desiredAverageSize: number): void {
    if (currentSize > desiredAverageSize) return;
    const want = desiredAverageSize - currentSize;
    const delta = Math.round(want * 0.2);
    let len = want - delta + (delta === 0 ? 0 : this.nextInt(2 * delta));
    // Padding longer than half the pool (huge configured sizes) is made of several slices.
    const most = this.letters.length >> 1;
    for (; len > most; len -= most) w.letters(this.nextInt(this.letters.length - most), most);
    w.letters(this.nextInt(this.letters.length - len), len);
  }

  private pool(n: number, spaces: boolean): Buffer {
    const codes = Buffer.alloc(n);
    for (let i = 0; i < n; i++) codes[i] = spaces && this.nextInt(13) === 0 ? 32 : 97 + this.nextInt(26);
    return codes;
  }
}

/** ln(10^6) / 2^32: the exponent of e per unit of a uniform 32-bit integer. */
const PRICE_STEP = (6 * Math.LN10) / 4294967296;
/** 100 × 10^(6 i / 4096): prices (in cents) at the 4096 steps of u's top 12 bits. */
const PRICE_TABLE = Float64Array.from({ length: 4096 }, (_, i) => 100 * Math.pow(10, (6 * i) / 4096));

/** MurmurHash3's finalizer: spreads every input bit over the whole word. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
