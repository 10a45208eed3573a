import { isUtf8 } from 'node:buffer';
import { Code, type ValueColumn } from '../shared/columns.js';
import { JsonObjectScanner } from '../json/json-scanner.js';
import { writeNumber } from '../shared/number-values.js';
import { preview, requiredNull } from '../shared/reasons.js';
import type { RecordDecoder } from '../shared/record-decoder.js';
import { firstInvalidUtf8, numberIsIntegral, parseDate, parsedTimestamp, parseTimestamp, scanNumber } from '../shared/text-values.js';

const QUOTE = 0x22;

/**
 * One RFC 4180 line per value: fields in schema order, no header. A field may be quoted (`"a,b"`, with `""`
 * for a quote inside). Fields are read from their text by the JSON rules (numbers, `true`/`false` in any
 * case, ISO timestamps or epoch milliseconds, `YYYY-MM-DD`, JSON text). An empty field is NULL, except that
 * a quoted empty field (`""`) is the empty string for VARCHAR.
 */
export class CsvDecoder implements RecordDecoder {
  private readonly fieldBuf: Uint8Array[];
  private readonly fieldStart: Int32Array;
  private readonly fieldEnd: Int32Array;
  private readonly fieldQuoted: Uint8Array;
  private readonly json = new JsonObjectScanner([]);
  private error = '';

  /** `rowMask[c]`: -1, or 0 to write column `c` into row 0 of a scratch column (see RowsBuilder.rowMask). */
  constructor(
    private readonly columns: readonly ValueColumn[],
    private readonly delimiter: number,
    private readonly rowMask: Int32Array = new Int32Array(columns.length).fill(-1),
  ) {
    const n = columns.length;
    this.fieldBuf = new Array<Uint8Array>(n);
    this.fieldStart = new Int32Array(n);
    this.fieldEnd = new Int32Array(n);
    this.fieldQuoted = new Uint8Array(n);
  }

  decode(b: Uint8Array, start: number, end: number, row: number): string | null {
    // a view of just the line: split() and the error positions count from its first byte
    const value = start === 0 && end === b.length ? b : b.subarray(start, end);
    if (!isUtf8(value)) return `value is not valid UTF-8 (bad byte at ${firstInvalidUtf8(value, 0, value.length)})`;
    const count = this.split(value);
    if (count < 0) return `invalid csv: ${this.error}`;
    if (count !== this.columns.length) return `invalid csv: expected ${this.columns.length} fields, got ${count}`;
    for (let c = 0; c < count; c++) {
      const reason = this.convert(
        this.columns[c]!,
        row & this.rowMask[c]!,
        this.fieldBuf[c]!,
        this.fieldStart[c]!,
        this.fieldEnd[c]!,
        this.fieldQuoted[c] === 1,
      );
      if (reason !== null) return reason;
    }
    return null;
  }

  /** Splits the line into fields; returns how many, or -1 with `error` set. */
  private split(b: Uint8Array): number {
    let end = b.length;
    if (end > 0 && b[end - 1] === 0x0a) end--;
    if (end > 0 && b[end - 1] === 0x0d) end--;
    const delimiter = this.delimiter;
    const max = this.columns.length;
    let count = 0;
    let i = 0;
    for (;;) {
      let buf = b;
      let start = i;
      let fieldEnd: number;
      let quoted = false;
      if (i < end && b[i] === QUOTE) {
        quoted = true;
        start = ++i;
        let escapes = 0;
        for (;;) {
          if (i >= end) return this.fail(`field ${count + 1} has no closing quote`);
          if (b[i] === QUOTE) {
            if (i + 1 < end && b[i + 1] === QUOTE) {
              escapes++;
              i += 2;
              continue;
            }
            break;
          }
          i++;
        }
        fieldEnd = i++;
        if (i < end && b[i] !== delimiter) return this.fail(`field ${count + 1} has text after its closing quote`);
        if (escapes > 0) {
          buf = unquote(b, start, fieldEnd, escapes);
          start = 0;
          fieldEnd = buf.length;
        }
      } else {
        while (i < end && b[i] !== delimiter) {
          if (b[i] === QUOTE) return this.fail(`field ${count + 1} has a quote but does not start with one (quote the whole field)`);
          i++;
        }
        fieldEnd = i;
      }
      if (count < max) {
        this.fieldBuf[count] = buf;
        this.fieldStart[count] = start;
        this.fieldEnd[count] = fieldEnd;
        this.fieldQuoted[count] = quoted ? 1 : 0;
      }
      count++;
      if (i >= end) return count;
      i++; // the delimiter
    }
  }

  private fail(error: string): number {
    this.error = error;
    return -1;
  }

  private convert(col: ValueColumn, row: number, b: Uint8Array, start: number, end: number, quoted: boolean): string | null {
    if (start === end && !(quoted && col.code === Code.Varchar)) {
      if (col.required) return requiredNull(col.name);
      col.setNull(row);
      return null;
    }
    switch (col.code) {
      case Code.Varchar:
        col.utf8!.setBytes(row, b, start, end);
        col.validity.valid(row);
        return null;
      case Code.Json:
        if (!this.json.validate(b, start, end)) return mismatch(col, b, start, end, ` (invalid JSON: ${this.json.error})`);
        col.utf8!.setBytes(row, b, start, end);
        col.validity.valid(row);
        return null;
      case Code.Integer:
      case Code.Bigint:
      case Code.Double: {
        if (scanNumber(b, start, end) !== end) return mismatch(col, b, start, end, '');
        const why = writeNumber(col, row, b, start, end, numberIsIntegral);
        return why === null ? null : mismatch(col, b, start, end, why);
      }
      case Code.Boolean: {
        const v = parseBoolean(b, start, end);
        if (v === undefined) return mismatch(col, b, start, end, '');
        col.setBoolean(row, v);
        return null;
      }
      case Code.Timestamp: {
        if (scanNumber(b, start, end) === end) {
          const why = writeNumber(col, row, b, start, end, false);
          return why === null ? null : mismatch(col, b, start, end, why);
        }
        if (!parseTimestamp(b, start, end)) {
          return mismatch(col, b, start, end, ' (write ISO-8601 like 2024-05-01T12:00:00.000Z, or epoch milliseconds)');
        }
        col.setMicros(row, parsedTimestamp.seconds, parsedTimestamp.micros);
        return null;
      }
      case Code.Date: {
        const days = parseDate(b, start, end);
        if (Number.isNaN(days)) return mismatch(col, b, start, end, " (write dates as 'YYYY-MM-DD')");
        col.i32[row] = days;
        col.validity.valid(row);
        return null;
      }
    }
  }
}

function mismatch(col: ValueColumn, b: Uint8Array, start: number, end: number, why: string): string {
  return `field '${col.name}': expected ${col.spec.type}, got "${preview(b, start, end)}"${why}`;
}

/** `true` / `false`, any case. */
function parseBoolean(b: Uint8Array, start: number, end: number): boolean | undefined {
  const len = end - start;
  if (len !== 4 && len !== 5) return undefined;
  let word = '';
  for (let i = start; i < end; i++) word += String.fromCharCode(b[i]! | 0x20);
  return word === 'true' ? true : word === 'false' ? false : undefined;
}

/** The contents of a quoted field with its `""` turned into `"`. */
function unquote(b: Uint8Array, start: number, end: number, escapes: number): Uint8Array {
  const out = new Uint8Array(end - start - escapes);
  let o = 0;
  for (let i = start; i < end; i++) {
    out[o++] = b[i]!;
    if (b[i] === QUOTE) i++;
  }
  return out;
}
