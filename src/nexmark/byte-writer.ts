import { frameKeylessRecord, KEYLESS_VALUE_START, HEADERLESS_TRAILER, type FramedRecords } from '../log/index.js';

/**
 * Fixed ASCII text prepared for fast writing: its bytes as little-endian 32-bit words, so writing it is a few
 * word stores (a `Buffer.set` call costs ~25 ns whatever the length; a byte loop ~4 ns per byte).
 */
export interface Literal {
  readonly bytes: Buffer;
  readonly words: Int32Array;
}

/** Longer literals are copied natively: past ~8 words one `set` beats the word stores. */
const WORD_LIMIT = 8;
/** Word stores may write up to 3 bytes past a literal (overwritten by what follows): room kept free at the end. */
const SLACK = 8;

export function literal(s: string): Literal {
  const bytes = Buffer.from(s, 'latin1');
  const padded = Buffer.alloc(Math.ceil(bytes.length / 4) * 4);
  bytes.copy(padded);
  const words = new Int32Array(padded.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = padded.readInt32LE(i * 4);
  return { bytes, words };
}

/** Text pools that random strings are sliced from; a writer keeps a copy in front of its records. */
export interface TextPools {
  readonly letters: Buffer;
  readonly words: Buffer;
}

/**
 * Appends ASCII JSON text straight into a growing byte buffer: records are built as bytes, never as JS strings
 * (building ~300-byte strings from template literals spent most of its time in the garbage collector).
 *
 * The buffer ("arena") starts with a copy of the text pools, so that a random slice of a pool is one
 * `copyWithin` (a native memmove, no view object), the cheapest copy measured here. The records follow it;
 * `buf`, `pos` and `starts` describe only the records.
 *
 * With `framed`, each record is also framed as a keyless, headerless log record (record-codec.ts) around its
 * JSON value, so the bytes can go to `EmbeddedLog.appendFramed` as they are.
 */
export class ByteWriter {
  private arena: Buffer;
  private dv: DataView;
  /** Write position in the arena. */
  p: number;
  /** Where the letters and words pools sit in the arena. */
  readonly lettersAt: number;
  readonly wordsAt: number;
  /** Where the records start in the arena. */
  private readonly base: number;
  /** Where each record starts, relative to `buf`: record i is buf[starts[i], starts[i + 1]). */
  readonly starts: number[] = [];
  /** The log timestamp framed records get (ms since the epoch). */
  timestamp = 0;

  constructor(
    capacity = 1 << 16,
    pools: TextPools = EMPTY_POOLS,
    readonly framed = false,
  ) {
    this.lettersAt = 0;
    this.wordsAt = pools.letters.length;
    this.base = pools.letters.length + pools.words.length;
    this.arena = Buffer.allocUnsafeSlow(this.base + capacity + SLACK);
    pools.letters.copy(this.arena, this.lettersAt);
    pools.words.copy(this.arena, this.wordsAt);
    this.dv = new DataView(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength);
    this.p = this.base;
  }

  /** The records' bytes (a view, valid until the next write). */
  get buf(): Buffer {
    return this.arena.subarray(this.base, this.p);
  }

  /** Bytes of records written. */
  get pos(): number {
    return this.p - this.base;
  }

  get records(): number {
    return this.starts.length;
  }

  /** Forget the records (keeps the buffer and the pools). */
  reset(): void {
    this.p = this.base;
    this.starts.length = 0;
  }

  /** Start a record; make room for at least `max` bytes of it. */
  begin(max: number): void {
    const need = this.p + max + KEYLESS_VALUE_START + HEADERLESS_TRAILER + SLACK;
    if (need > this.arena.length) this.grow(need);
    this.starts.push(this.p - this.base);
    if (this.framed) this.p += KEYLESS_VALUE_START;
  }

  /** End the record begun last. */
  end(): void {
    if (this.framed) this.p = frameKeylessRecord(this.dv, this.base + this.starts[this.starts.length - 1]!, this.p, this.timestamp);
  }

  /** The framed records, for `EmbeddedLog.appendFramed` (a view, valid until the next write). */
  framedRecords(): FramedRecords {
    return { bytes: this.buf, starts: this.starts, count: this.starts.length };
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(this.arena.length * 2, need));
    this.arena.copy(next, 0, 0, this.p);
    this.arena = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** Fixed text. */
  lit(l: Literal): void {
    const w = l.words;
    if (w.length > WORD_LIMIT) {
      this.arena.set(l.bytes, this.p);
    } else {
      const dv = this.dv;
      const p = this.p;
      for (let i = 0; i < w.length; i++) dv.setInt32(p + 4 * i, w[i]!, true);
    }
    this.p += l.bytes.length;
  }

  /** One byte. */
  byte(b: number): void {
    this.arena[this.p++] = b;
  }

  /** `len` bytes of the letters pool from `at`. */
  letters(at: number, len: number): void {
    this.arena.copyWithin(this.p, this.lettersAt + at, this.lettersAt + at + len);
    this.p += len;
  }

  /** `len` bytes of the words pool from `at`. */
  words(at: number, len: number): void {
    this.arena.copyWithin(this.p, this.wordsAt + at, this.wordsAt + at + len);
    this.p += len;
  }

  /** A non-negative integer in decimal, two digits per store. */
  int(n: number): void {
    if (n < 10) {
      this.arena[this.p++] = 48 + n;
      return;
    }
    if (n >= 0x8000_0000) return this.bigInt(n);
    // Below 2^31, `(n / 100) | 0` compiles to an integer division by a constant (a multiply), not a float division.
    const dv = this.dv;
    let e = this.p + digits(n);
    this.p = e;
    while (n >= 100) {
      const q = (n / 100) | 0;
      e -= 2;
      dv.setUint16(e, DIGIT_PAIRS[n - q * 100]!, true);
      n = q;
    }
    if (n >= 10) dv.setUint16(e - 2, DIGIT_PAIRS[n]!, true);
    else this.arena[e - 1] = 48 + n;
  }

  private bigInt(n: number): void {
    this.p += this.arena.write(String(n), this.p, 'latin1');
  }

  /** An integer from 0 to 9999 as four digits, zero-padded. */
  pad4(n: number): void {
    const hi = Math.floor(n / 100);
    this.dv.setUint16(this.p, DIGIT_PAIRS[hi]!, true);
    this.dv.setUint16(this.p + 2, DIGIT_PAIRS[n - hi * 100]!, true);
    this.p += 4;
  }

  /** The records as views into one buffer (valid until the next write). */
  views(): Uint8Array[] {
    const buf = this.buf;
    const out: Uint8Array[] = new Array(this.starts.length);
    for (let i = 0; i < this.starts.length; i++) out[i] = buf.subarray(this.starts[i]!, i + 1 < this.starts.length ? this.starts[i + 1]! : buf.length);
    return out;
  }

  /** The records as strings (tests, oracles); framed records as their JSON values. */
  lines(): string[] {
    const skip = this.framed ? KEYLESS_VALUE_START : 0;
    const trail = this.framed ? HEADERLESS_TRAILER : 0;
    return this.views().map((v) => Buffer.from(v.buffer, v.byteOffset + skip, v.byteLength - skip - trail).toString('latin1'));
  }
}

const EMPTY_POOLS: TextPools = { letters: Buffer.alloc(0), words: Buffer.alloc(0) };

/** "00" … "99" as little-endian 16-bit words. */
const DIGIT_PAIRS = Uint16Array.from({ length: 100 }, (_, i) => (48 + Math.floor(i / 10)) | ((48 + (i % 10)) << 8));

/** Decimal digits of 10 ≤ n < 2^31. */
function digits(n: number): number {
  if (n < 10_000) return n < 100 ? 2 : n < 1000 ? 3 : 4;
  if (n < 10_000_000) return n < 100_000 ? 5 : n < 1_000_000 ? 6 : 7;
  return n < 100_000_000 ? 8 : n < 1_000_000_000 ? 9 : 10;
}
