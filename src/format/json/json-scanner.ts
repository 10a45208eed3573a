import { numberIsIntegral, scanNumber, utf8SequenceLength } from '../shared/text-values.js';

/*
 * A strict JSON validator over UTF-8 bytes that remembers where the values of the schema's fields are,
 * instead of building a JS object per record (JSON.parse + TextDecoder + re-encoding the strings was the
 * bottleneck: docs/architecture.md#arrow-and-duckdb). It accepts exactly RFC 8259 JSON text — the same texts JSON.parse accepts, except
 * that invalid UTF-8 is an error here rather than silently replaced. Duplicate field names: the last one wins,
 * as in JSON.parse.
 */

/** What a field's value is (`Kind.Absent`: the object has no such field). */
export const enum Kind {
  Absent,
  String,
  Number,
  True,
  False,
  Null,
  Object,
  Array,
}

export const KIND_NAMES = ['absent', 'string', 'number', 'boolean', 'boolean', 'null', 'object', 'array'] as const;

/** Thrown (never an Error: no stack trace to capture) when the bytes are not JSON; `scanner.error` says why. */
const INVALID = { invalid: true };
/** Containers nested deeper than this are refused rather than risking the stack. */
const MAX_DEPTH = 500;

const decoder = new TextDecoder();
/** Bytes that stand for themselves inside a JSON string: printable ASCII except `"` and `\`. */
const PLAIN = new Uint8Array(256).map((_, c) => (c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c ? 1 : 0));
const EMPTY = new Uint8Array(0);
/** Inputs at least this long (log chunks, holding many values) are read four bytes at a time (see `input`). */
const WORD_INPUT_MIN = 4096;
/** Field positions whose column is remembered from record to record (see `column`). */
const FIELD_ORDER_SLOTS = 64;

export class JsonObjectScanner {
  /** Per schema column, for the current record: its kind, and its value's bytes `[start, end)`. */
  readonly kind: Uint8Array;
  /** Strings: the bytes between the quotes. Others: the value's text. */
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** Strings with backslash escapes; numbers without fraction or exponent. */
  readonly flag: Uint8Array;
  /** Why the last `scan` failed. */
  error = '';
  /** Set when the value is valid JSON but not an object. */
  notObject = false;

  private b: Uint8Array = EMPTY;
  /** The last input given to `scan`, and a DataView over it when it is a chunk of many values (see `input`). */
  private lastInput: Uint8Array = EMPTY;
  private view: DataView | null = null;
  private pos = 0;
  private n = 0;
  /** Where the scanned value starts in `b` (error positions are relative to it). */
  private base = 0;
  private escaped = false;
  private readonly nameLengths: Int32Array;
  /** Per column: 1 when its name is all bytes that stand for themselves in a JSON string (see `knownName`). */
  private readonly namePlain: Uint8Array;
  /** Per column: its name and closing quote as little-endian int32 words (a last partial word left out). */
  private readonly quotedNames: Int32Array[];
  /** Per top-level field number: the column it was in the last record that had it (-1: unknown). */
  private readonly lastOrder = new Int32Array(FIELD_ORDER_SLOTS).fill(-1);

  constructor(
    private readonly names: readonly string[],
    private readonly nameBytes: readonly Uint8Array[] = names.map((n) => new TextEncoder().encode(n)),
  ) {
    const n = names.length;
    this.kind = new Uint8Array(n);
    this.start = new Int32Array(n);
    this.end = new Int32Array(n);
    this.flag = new Uint8Array(n);
    this.nameLengths = Int32Array.from(this.nameBytes, (b) => b.length);
    this.namePlain = Uint8Array.from(this.nameBytes, (b) => (b.every((c) => PLAIN[c] === 1) ? 1 : 0));
    this.quotedNames = this.nameBytes.map((name) => {
      const quoted = new Uint8Array(name.length + 1);
      quoted.set(name);
      quoted[name.length] = 0x22;
      const view = new DataView(quoted.buffer);
      return Int32Array.from({ length: quoted.length >> 2 }, (_, w) => view.getInt32(4 * w, true));
    });
  }

  /**
   * Uses `b` as the bytes to scan. Inputs of WORD_INPUT_MIN bytes or more (log chunks) also get a DataView for
   * the four-bytes-at-a-time loops, made once per chunk; shorter ones, one value each (Kafka, per-record
   * batches), take the byte loops: a DataView per value would cost more than it saves.
   */
  private input(b: Uint8Array): void {
    if (b === this.lastInput) return;
    this.lastInput = b;
    this.b = b;
    this.view = b.length < WORD_INPUT_MIN ? null : new DataView(b.buffer, b.byteOffset, b.length);
  }

  /**
   * Scans `b[start, end)`, which must be one JSON object; false (with `error`/`notObject`) when it is not.
   * Positions in `start`/`end` are into `b`; byte positions in `error` are relative to `start`.
   */
  scan(input: Uint8Array, start = 0, end = input.length): boolean {
    this.input(input);
    const b = this.b;
    this.n = end;
    this.pos = start;
    this.base = start;
    const kind = this.kind;
    for (let c = 0; c < kind.length; c++) kind[c] = Kind.Absent;
    this.notObject = false;
    try {
      this.skipWs();
      if (this.pos >= this.n) this.fail('a JSON value');
      if (b[this.pos] !== 0x7b) {
        this.value(1);
        this.end_();
        this.notObject = true;
        return false;
      }
      this.object(0, true);
      this.end_();
      return true;
    } catch (e) {
      if (e !== INVALID) throw e;
      return false;
    }
  }

  /** Validates that `b[start, end)` is exactly one JSON value (csv fields of JSON columns). */
  validate(b: Uint8Array, start: number, end: number): boolean {
    this.input(b);
    this.n = end;
    this.pos = start;
    this.base = 0;
    try {
      this.skipWs();
      if (this.pos >= this.n) this.fail('a JSON value');
      this.value(1);
      this.end_();
      return true;
    } catch (e) {
      if (e !== INVALID) throw e;
      return false;
    }
  }

  private end_(): void {
    this.skipWs();
    if (this.pos < this.n) this.fail('the end of the value');
  }

  private fail(expected: string): never {
    const p = this.pos;
    let found: string;
    if (p >= this.n) found = 'the end';
    else {
      const c = this.b[p]!;
      found = c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
    }
    this.error = `expected ${expected}, found ${found} at byte ${p - this.base}`;
    throw INVALID;
  }

  private skipWs(): void {
    const b = this.b;
    let p = this.pos;
    if (p < this.n && b[p]! > 0x20) return;
    while (p < this.n) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
  }

  /** An object at `pos` (`{`); at the top level (`top`) records the schema fields' values. */
  private object(depth: number, top: boolean): void {
    if (depth >= MAX_DEPTH) this.fail(`at most ${MAX_DEPTH} levels of nesting`);
    const b = this.b;
    this.pos++;
    this.skipWs();
    if (this.pos < this.n && b[this.pos] === 0x7d) {
      this.pos++;
      return;
    }
    let field = 0;
    for (;;) {
      if (this.pos >= this.n || b[this.pos] !== 0x22) this.fail('a field name');
      const keyStart = this.pos + 1;
      const known = top ? this.knownName(keyStart, field) : -1;
      let keyEnd = keyStart;
      let keyEscaped = false;
      if (known >= 0) this.pos = keyStart + this.nameLengths[known]! + 1;
      else {
        this.string();
        keyEnd = this.pos - 1;
        keyEscaped = this.escaped;
      }
      this.skipWs();
      if (this.pos >= this.n || b[this.pos] !== 0x3a) this.fail("':'");
      this.pos++;
      this.skipWs();
      const col = known >= 0 ? known : top ? this.column(keyStart, keyEnd, keyEscaped, field) : -1;
      field++;
      const valueStart = this.pos;
      const kind = this.value(depth + 1);
      if (col >= 0) {
        this.kind[col] = kind;
        if (kind === Kind.String) {
          this.start[col] = valueStart + 1;
          this.end[col] = this.pos - 1;
          this.flag[col] = this.escaped ? 1 : 0;
        } else {
          this.start[col] = valueStart;
          this.end[col] = this.pos;
          this.flag[col] = kind === Kind.Number && numberIsIntegral ? 1 : 0;
        }
      }
      this.skipWs();
      if (this.pos < this.n) {
        const c = b[this.pos];
        if (c === 0x2c) {
          this.pos++;
          this.skipWs();
          continue;
        }
        if (c === 0x7d) {
          this.pos++;
          return;
        }
      }
      this.fail("',' or '}'");
    }
  }

  private array(depth: number): void {
    if (depth >= MAX_DEPTH) this.fail(`at most ${MAX_DEPTH} levels of nesting`);
    const b = this.b;
    this.pos++;
    this.skipWs();
    if (this.pos < this.n && b[this.pos] === 0x5d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      this.skipWs();
      if (this.pos < this.n) {
        const c = b[this.pos];
        if (c === 0x2c) {
          this.pos++;
          this.skipWs();
          continue;
        }
        if (c === 0x5d) {
          this.pos++;
          return;
        }
      }
      this.fail("',' or ']'");
    }
  }

  private value(depth: number): Kind {
    if (this.pos >= this.n) this.fail('a JSON value');
    const c = this.b[this.pos]!;
    switch (c) {
      case 0x22:
        this.string();
        return Kind.String;
      case 0x7b:
        this.object(depth, false);
        return Kind.Object;
      case 0x5b:
        this.array(depth);
        return Kind.Array;
      case 0x74:
        this.literal(0x72, 0x75, 0x65, -1);
        return Kind.True;
      case 0x66:
        this.literal(0x61, 0x6c, 0x73, 0x65);
        return Kind.False;
      case 0x6e:
        this.literal(0x75, 0x6c, 0x6c, -1);
        return Kind.Null;
      default: {
        const end = scanNumber(this.b, this.pos, this.n);
        if (end < 0) {
          if (c === 0x2d || (c >= 0x30 && c <= 0x39)) this.fail('a valid number');
          this.fail('a JSON value');
        }
        this.pos = end;
        return Kind.Number;
      }
    }
  }

  /** `true`, `false`, `null`: the bytes after the first one (-1: none). */
  private literal(c1: number, c2: number, c3: number, c4: number): void {
    const b = this.b;
    const p = this.pos;
    const len = c4 < 0 ? 4 : 5;
    if (p + len > this.n || b[p + 1] !== c1 || b[p + 2] !== c2 || b[p + 3] !== c3 || (c4 >= 0 && b[p + 4] !== c4)) {
      this.fail('true, false or null');
    }
    this.pos = p + len;
  }

  /** A string at `pos` (`"`); leaves `pos` after the closing quote and `escaped` set if it has escapes. */
  private string(): void {
    const b = this.b;
    const n = this.n;
    let i = this.pos + 1;
    let escaped = false;
    for (;;) {
      i = this.plainRun(i, n);
      if (i >= n) {
        this.pos = i;
        this.fail('a closing quote');
      }
      const c = b[i]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        const e = i + 1 < n ? b[i + 1]! : 0;
        if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
        } else if (e === 0x75 && i + 5 < n && isHex(b[i + 2]!) && isHex(b[i + 3]!) && isHex(b[i + 4]!) && isHex(b[i + 5]!)) {
          i += 6;
        } else {
          this.pos = i;
          this.fail('a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        }
      } else if (c < 0x20) {
        this.pos = i;
        this.fail('no raw control character inside a string');
      } else {
        const len = utf8SequenceLength(b, i, n);
        if (len === 0) {
          this.pos = i;
          this.fail('valid UTF-8');
        }
        i += len;
      }
    }
    this.pos = i + 1;
    this.escaped = escaped;
  }

  /**
   * Where the run of bytes that stand for themselves, from `i`, ends (at most `n`). In chunks (`view` set), runs
   * (URLs, text) are checked four bytes at a time: a little-endian int32 is all plain when none of its bytes has the high bit
   * (UTF-8), is below 0x20, or equals `"` or `\\`. Each zero-byte test below is exact for the word as a whole
   * (a borrow only ever starts at a byte that is itself a hit); the word that fails and the last < 4 bytes
   * are then checked one by one, so the result is the byte loop's.
   */
  private plainRun(i: number, n: number): number {
    const view = this.view;
    const last = view === null ? -1 : n - 4;
    while (i <= last) {
      const x = view!.getInt32(i, true);
      const q = x ^ 0x22222222; // a zero byte where x has '"'
      const s = x ^ 0x5c5c5c5c; // a zero byte where x has '\\'
      const below20 = ((x - 0x20202020) | 0) & ~x;
      const quote = ((q - 0x01010101) | 0) & ~q;
      const backslash = ((s - 0x01010101) | 0) & ~s;
      if (((below20 | quote | backslash | x) & 0x80808080) !== 0) break;
      i += 4;
    }
    const b = this.b;
    while (i < n && PLAIN[b[i]!] === 1) i++;
    return i;
  }

  /**
   * The column whose name starts at `b[start]` followed by its closing quote, when it is the column the top-level
   * field number `field` had in the previous record and its name needs no escaping (then those bytes are the
   * whole, valid, unescaped key: the string scan and the name search are skipped); -1 otherwise. The name and
   * its quote are compared four bytes at a time (`quotedNames`).
   */
  private knownName(start: number, field: number): number {
    const guess = field < FIELD_ORDER_SLOTS ? this.lastOrder[field]! : -1;
    if (guess < 0 || this.namePlain[guess] === 0) return -1;
    const len = this.nameLengths[guess]! + 1;
    if (start + len > this.n) return -1;
    const words = this.quotedNames[guess]!;
    const view = this.view;
    let k = 0;
    if (view !== null) for (let w = 0; k + 4 <= len; k += 4, w++) if (view.getInt32(start + k, true) !== words[w]) return -1;
    const b = this.b;
    const name = this.nameBytes[guess]!;
    for (; k < len - 1; k++) if (b[start + k] !== name[k]) return -1;
    return k === len || b[start + k] === 0x22 ? guess : -1;
  }

  /**
   * Which schema column the top-level field number `field` (0-based), named `b[start, end)`, is; -1 for none.
   * Records of a stream mostly list their fields in the same order: the column the same field number had in
   * the previous record is tried first, then every column.
   */
  private column(start: number, end: number, escaped: boolean, field: number): number {
    if (escaped) return this.names.indexOf(unescape(this.b, start, end));
    const guess = field < FIELD_ORDER_SLOTS ? this.lastOrder[field]! : -1;
    if (guess >= 0 && this.nameIs(guess, start, end)) return guess;
    const lengths = this.nameLengths;
    const len = end - start;
    for (let c = 0; c < lengths.length; c++) {
      if (c !== guess && lengths[c] === len && this.nameIs(c, start, end)) {
        if (field < FIELD_ORDER_SLOTS) this.lastOrder[field] = c;
        return c;
      }
    }
    return -1;
  }

  /** Is `b[start, end)` the name of column `c`? */
  private nameIs(c: number, start: number, end: number): boolean {
    const len = end - start;
    if (this.nameLengths[c] !== len) return false;
    const name = this.nameBytes[c]!;
    const b = this.b;
    let k = 0;
    while (k < len && name[k] === b[start + k]) k++;
    return k === len;
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** The string value of the (validated) JSON string whose contents are `b[start, end)`. */
export function unescape(b: Uint8Array, start: number, end: number): string {
  return JSON.parse(decoder.decode(b.subarray(start - 1, end + 1))) as string;
}
