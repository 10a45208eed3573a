/**
 * Appends ASCII JSON text straight into a growing byte buffer: records are built as bytes, never as JS strings
 * (building ~300-byte strings from template literals spent most of its time in the garbage collector).
 */
export class ByteWriter {
  buf: Buffer;
  pos = 0;
  /** Where each record starts; record i is buf[starts[i], starts[i + 1]). */
  readonly starts: number[] = [];

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  get records(): number {
    return this.starts.length;
  }

  /** Start a record; make room for at least `max` bytes of it. */
  begin(max: number): void {
    if (this.pos + max > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + max));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    this.starts.push(this.pos);
  }

  /** Bytes of an ASCII string (field names, fixed text). */
  bytes(b: Uint8Array): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /** `len` bytes of `pool` from `at`. */
  slice(pool: Buffer, at: number, len: number): void {
    if (len > 32) {
      this.buf.set(pool.subarray(at, at + len), this.pos);
      this.pos += len;
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    for (let i = at, end = at + len; i < end; i++) buf[p++] = pool[i]!;
    this.pos = p;
  }

  /** A non-negative integer in decimal. */
  int(n: number): void {
    const buf = this.buf;
    if (n < 10) {
      buf[this.pos++] = 48 + n;
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    for (let x = n; p > this.pos - digits; x = Math.floor(x / 10)) buf[--p] = 48 + (x % 10);
  }

  /** The records as views into one buffer (valid until the next write). */
  views(): Uint8Array[] {
    const out: Uint8Array[] = new Array(this.starts.length);
    for (let i = 0; i < this.starts.length; i++) out[i] = this.buf.subarray(this.starts[i]!, i + 1 < this.starts.length ? this.starts[i + 1]! : this.pos);
    return out;
  }

  /** The records as strings (tests, oracles). */
  lines(): string[] {
    return this.views().map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1'));
  }
}

const cache = new Map<string, Uint8Array>();
/** The ASCII bytes of `s`, cached (for fixed field names and literals). */
export function ascii(s: string): Uint8Array {
  let b = cache.get(s);
  if (!b) cache.set(s, (b = Buffer.from(s, 'latin1')));
  return b;
}
