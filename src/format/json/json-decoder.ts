import { Code, type ValueColumn } from '../shared/columns.js';
import { JsonObjectScanner, Kind, KIND_NAMES, unescape } from './json-scanner.js';
import { missingField, preview, requiredNull } from '../shared/reasons.js';
import { parseDate, parsedTimestamp, parseTimestamp } from '../shared/text-values.js';
import type { RecordDecoder } from '../shared/record-decoder.js';
import { writeNumber } from '../shared/number-values.js';

const encoder = new TextEncoder();

/** A JSON object per value; its fields become the schema's columns by name (case-sensitive). */
export class JsonDecoder implements RecordDecoder {
  private readonly scanner: JsonObjectScanner;

  /** `rowMask[c]`: -1, or 0 to write column `c` into row 0 of a scratch column (see RowsBuilder.rowMask). */
  constructor(
    private readonly columns: readonly ValueColumn[],
    private readonly rowMask: Int32Array = new Int32Array(columns.length).fill(-1),
  ) {
    this.scanner = new JsonObjectScanner(columns.map((c) => c.name));
  }

  decode(value: Uint8Array, begin: number, stop: number, row: number): string | null {
    const s = this.scanner;
    if (!s.scan(value, begin, stop)) {
      if (s.notObject) return `expected a JSON object, got ${this.describe(value, begin, stop)}`;
      return `invalid JSON: ${s.error}`;
    }
    const columns = this.columns;
    const mask = this.rowMask;
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c]!;
      const kind = s.kind[c]!;
      const r = row & mask[c]!;
      if (kind === Kind.Absent || kind === Kind.Null) {
        if (col.required) return kind === Kind.Absent ? missingField(col.name) : requiredNull(col.name);
        col.setNull(r);
        continue;
      }
      // Not stored, and nothing convert() would check: JSON text of any kind, a VARCHAR's unescaped string.
      if (mask[c] === 0 && (col.code === Code.Json || (col.code === Code.Varchar && kind === Kind.String && s.flag[c] !== 1))) continue;
      const reason = this.convert(col, r, value, kind, s.start[c]!, s.end[c]!, s.flag[c] === 1);
      if (reason !== null) return reason;
    }
    return null;
  }

  /** Writes one non-null field; a reason when its JSON type does not fit the column. */
  private convert(col: ValueColumn, row: number, b: Uint8Array, kind: Kind, start: number, end: number, flag: boolean): string | null {
    switch (col.code) {
      case Code.Varchar:
        if (kind !== Kind.String) break;
        if (flag) col.utf8!.setString(row, unescape(b, start, end));
        else col.utf8!.setBytes(row, b, start, end);
        col.validity.valid(row);
        return null;
      case Code.Integer:
      case Code.Bigint:
      case Code.Double: {
        if (kind !== Kind.Number) break;
        const why = writeNumber(col, row, b, start, end, flag);
        return why === null ? null : this.mismatch(col, b, kind, start, end, why);
      }
      case Code.Boolean:
        if (kind !== Kind.True && kind !== Kind.False) break;
        col.setBoolean(row, kind === Kind.True);
        return null;
      case Code.Timestamp:
        return this.timestamp(col, row, b, kind, start, end, flag);
      case Code.Date: {
        if (kind !== Kind.String) break;
        const days = flag ? parseDateString(unescape(b, start, end)) : parseDate(b, start, end);
        if (Number.isNaN(days)) return this.mismatch(col, b, kind, start, end, " (write dates as 'YYYY-MM-DD')");
        col.i32[row] = days;
        col.validity.valid(row);
        return null;
      }
      case Code.Json:
        // stored as the value's own JSON text (strings with their quotes)
        if (kind === Kind.String) col.utf8!.setBytes(row, b, start - 1, end + 1);
        else col.utf8!.setBytes(row, b, start, end);
        col.validity.valid(row);
        return null;
    }
    return this.mismatch(col, b, kind, start, end, '');
  }

  private timestamp(col: ValueColumn, row: number, b: Uint8Array, kind: Kind, start: number, end: number, escaped: boolean): string | null {
    if (kind === Kind.Number) {
      const why = writeNumber(col, row, b, start, end, false);
      return why === null ? null : this.mismatch(col, b, kind, start, end, why);
    }
    if (kind !== Kind.String) return this.mismatch(col, b, kind, start, end, '');
    let ok: boolean;
    if (escaped) {
      const text = encoder.encode(unescape(b, start, end));
      ok = parseTimestamp(text, 0, text.length);
    } else ok = parseTimestamp(b, start, end);
    if (!ok) return this.mismatch(col, b, kind, start, end, ' (write ISO-8601 like 2024-05-01T12:00:00.000Z, or epoch milliseconds)');
    col.setMicros(row, parsedTimestamp.seconds, parsedTimestamp.micros);
    return null;
  }

  private mismatch(col: ValueColumn, b: Uint8Array, kind: Kind, start: number, end: number, why: string): string {
    const s = kind === Kind.String ? start - 1 : start;
    const e = kind === Kind.String ? end + 1 : end;
    return `field '${col.name}': expected ${col.spec.type}, got ${this.describe(b, s, e)}${why}`;
  }

  /** `string "abc"`, `number 3.5`, `array [1,2]`, trimmed. */
  private describe(b: Uint8Array, start: number, end: number): string {
    let s = start;
    while (s < end && (b[s] === 0x20 || b[s] === 0x0a || b[s] === 0x0d || b[s] === 0x09)) s++;
    let e = end;
    while (e > s && (b[e - 1] === 0x20 || b[e - 1] === 0x0a || b[e - 1] === 0x0d || b[e - 1] === 0x09)) e--;
    const c = b[s];
    const kind =
      c === 0x22
        ? Kind.String
        : c === 0x7b
          ? Kind.Object
          : c === 0x5b
            ? Kind.Array
            : c === 0x74
              ? Kind.True
              : c === 0x66
                ? Kind.False
                : c === 0x6e
                  ? Kind.Null
                  : Kind.Number;
    return kind === Kind.Null ? 'null' : `${KIND_NAMES[kind]} ${preview(b, s, e)}`;
  }
}

function parseDateString(s: string): number {
  const b = encoder.encode(s);
  return parseDate(b, 0, b.length);
}

/** Average bytes per record of each named field's value text in `sample` (values that do not scan count 0). */
export function sampleFieldBytes(names: readonly string[], sample: readonly Uint8Array[]): number[] {
  const scanner = new JsonObjectScanner(names);
  const bytes = names.map(() => 0);
  for (const value of sample) {
    if (!scanner.scan(value)) continue;
    for (let c = 0; c < names.length; c++) if (scanner.kind[c] !== Kind.Absent) bytes[c]! += scanner.end[c]! - scanner.start[c]! + 2;
  }
  return bytes.map((b) => b / Math.max(1, sample.length));
}
