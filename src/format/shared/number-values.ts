import { Code, type ValueColumn } from './columns.js';
import { integerLiteralValue, numberValue } from './text-values.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const MAX_MS = 9.2e15; // int64 microseconds reach ±9.22e15 ms

/**
 * Writes the number literal `b[start, end)` (valid JSON number grammar) into an INTEGER, BIGINT, DOUBLE
 * or TIMESTAMP (epoch milliseconds) column. Returns null, or why the number does not fit (a reason suffix).
 * `integral`: the literal has no fraction and no exponent, so BIGINT reads its digits exactly (full int64).
 */
export function writeNumber(col: ValueColumn, row: number, b: Uint8Array, start: number, end: number, integral: boolean): string | null {
  switch (col.code) {
    case Code.Integer: {
      const v = numberValue(b, start, end);
      if (!Number.isInteger(v)) return ' (not an integer)';
      if (v < INT32_MIN || v > INT32_MAX) return ' (out of INTEGER range; declare it BIGINT)';
      col.i32[row] = v;
      col.validity.valid(row);
      return null;
    }
    case Code.Bigint: {
      if (integral) {
        const v = integerLiteralValue(b, start, end);
        if (v === undefined) return ' (out of BIGINT range)';
        col.setInt64(row, v);
        return null;
      }
      const v = numberValue(b, start, end);
      if (!Number.isInteger(v)) return ' (not an integer)';
      if (!Number.isSafeInteger(v)) return ' (beyond ±2^53 in exponent form: precision would be lost)';
      col.setInt64(row, v);
      return null;
    }
    case Code.Double:
      col.f64[row] = numberValue(b, start, end);
      col.validity.valid(row);
      return null;
    case Code.Timestamp: {
      const us = epochMillisToMicros(numberValue(b, start, end));
      if (us === undefined) return ' (out of range for epoch milliseconds)';
      col.setInt64(row, us);
      return null;
    }
    default:
      return '';
  }
}

/** Epoch milliseconds (possibly fractional) → microseconds: a safe integer, an int64 bigint, or undefined. */
export function epochMillisToMicros(ms: number): number | bigint | undefined {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_MS) return undefined;
  const us = Math.round(ms * 1000);
  if (Number.isSafeInteger(us)) return us;
  return Number.isInteger(ms) ? BigInt(ms) * 1000n : BigInt(us);
}
