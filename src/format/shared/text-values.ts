/**
 * Values read straight from UTF-8 bytes, without making a JS string: UTF-8 validation, JSON number grammar,
 * ISO-8601 timestamps and dates. Shared by the JSON and csv decoders (a csv field is read by the same rules
 * as the text of a JSON value).
 */

/** Length of the valid UTF-8 sequence starting at `i` (lead byte ≥ 0x80), or 0 when it is not valid UTF-8. */
export function utf8SequenceLength(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  if (c >= 0xc2 && c <= 0xdf) {
    return i + 1 < end && (b[i + 1]! & 0xc0) === 0x80 ? 2 : 0;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (i + 2 >= end) return 0;
    const c1 = b[i + 1]!;
    if ((c1 & 0xc0) !== 0x80 || (b[i + 2]! & 0xc0) !== 0x80) return 0;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (i + 3 >= end) return 0;
    const c1 = b[i + 1]!;
    if ((c1 & 0xc0) !== 0x80 || (b[i + 2]! & 0xc0) !== 0x80 || (b[i + 3]! & 0xc0) !== 0x80) return 0;
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

/** Index of the first byte that is not valid UTF-8 in `b[start, end)`, or -1 when all of it is valid. */
export function firstInvalidUtf8(b: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    if (b[i]! < 0x80) {
      i++;
      continue;
    }
    const len = utf8SequenceLength(b, i, end);
    if (len === 0) return i;
    i += len;
  }
  return -1;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const TWO_53 = 9007199254740992;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Set by `scanNumber`: the number it just scanned has no fraction and no exponent. */
export let numberIsIntegral = false;

/**
 * End of the JSON number starting at `i`, or -1 when `b` has no valid number there.
 * Sets `numberIsIntegral` (no fraction, no exponent).
 */
export function scanNumber(b: Uint8Array, i: number, end: number): number {
  if (i < end && b[i] === 0x2d) i++;
  if (i >= end) return -1;
  const first = b[i]!;
  if (first === 0x30) i++;
  else if (first >= 0x31 && first <= 0x39) {
    i++;
    while (i < end && isDigit(b[i]!)) i++;
  } else return -1;
  numberIsIntegral = true;
  if (i < end && b[i] === 0x2e) {
    i++;
    if (i >= end || !isDigit(b[i]!)) return -1;
    while (i < end && isDigit(b[i]!)) i++;
    numberIsIntegral = false;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || !isDigit(b[i]!)) return -1;
    while (i < end && isDigit(b[i]!)) i++;
    numberIsIntegral = false;
  }
  return i;
}

/** Latin-1 string of a short ASCII slice (number literals, messages). */
export function asciiString(b: Uint8Array, start: number, end: number): string {
  return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
}

/**
 * The double nearest to the JSON number `b[start, end)` (already validated by `scanNumber`).
 * Exact fast path when the digits fit in 2^53 and the power of ten is ≤ 22 (one correctly rounded
 * multiplication or division); otherwise `Number()` of the text.
 */
export function numberValue(b: Uint8Array, start: number, end: number): number {
  let i = start;
  const negative = b[i] === 0x2d;
  if (negative) i++;
  let mantissa = 0;
  let scale = 0;
  while (i < end && isDigit(b[i]!)) mantissa = mantissa * 10 + (b[i++]! - 0x30);
  if (i < end && b[i] === 0x2e) {
    i++;
    while (i < end && isDigit(b[i]!)) {
      mantissa = mantissa * 10 + (b[i++]! - 0x30);
      scale--;
    }
  }
  if (i < end) {
    // exponent
    i++;
    let expNegative = false;
    if (b[i] === 0x2b) i++;
    else if (b[i] === 0x2d) {
      expNegative = true;
      i++;
    }
    let exp = 0;
    while (i < end && exp < 100000) exp = exp * 10 + (b[i++]! - 0x30);
    scale += expNegative ? -exp : exp;
  }
  if (mantissa < TWO_53 && scale >= -22 && scale <= 22) {
    const v = scale >= 0 ? mantissa * POW10[scale]! : mantissa / POW10[-scale]!;
    return negative ? -v : v;
  }
  return Number(asciiString(b, start, end));
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An integer literal (no fraction or exponent) of up to 19 digits: a safe-integer number when it fits,
 * else a bigint, else undefined when it is outside the int64 range.
 */
export function integerLiteralValue(b: Uint8Array, start: number, end: number): number | bigint | undefined {
  const negative = b[start] === 0x2d;
  if (end - start - (negative ? 1 : 0) <= 15) {
    // at most 15 digits: exact in a double, digit by digit (numberValue's result, without its other forms)
    let v = 0;
    for (let i = negative ? start + 1 : start; i < end; i++) v = v * 10 + (b[i]! - 0x30);
    return negative ? -v : v;
  }
  const big = BigInt(asciiString(b, start, end));
  if (big < INT64_MIN || big > INT64_MAX) return undefined;
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function digits(b: Uint8Array, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = b[i + k]! - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** `YYYY-MM-DD` at `b[i, i+10)` as days since the epoch, or NaN. */
function dateAt(b: Uint8Array, i: number): number {
  const year = digits(b, i, 4);
  const month = digits(b, i + 5, 2);
  const day = digits(b, i + 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || b[i + 4] !== 0x2d || b[i + 7] !== 0x2d) return NaN;
  if (day > daysInMonth(year, month)) return NaN;
  return daysFromCivil(year, month, day);
}

/** Exactly `YYYY-MM-DD` → days since 1970-01-01, or NaN. */
export function parseDate(b: Uint8Array, start: number, end: number): number {
  return end - start === 10 ? dateAt(b, start) : NaN;
}

/** Result of the last successful `parseTimestamp`: whole seconds since the epoch and microseconds past them. */
export const parsedTimestamp = { seconds: 0, micros: 0, hasTime: false };

/**
 * The last `YYYY-MM-DD?HH` prefix (date, separator, hour) that `parseTimestamp` found valid, and its seconds
 * since the epoch: timestamps of a stream mostly share their date and hour with the previous one, and comparing
 * 13 bytes costs less than reading and checking the date again (days_from_civil, month lengths).
 */
const HOUR_PREFIX = 13;
const lastHour = new Uint8Array(HOUR_PREFIX);
let lastHourSeconds = NaN;

/** Do `b[start, start + 13)` equal the last valid date-and-hour prefix? (The caller checked the length.) */
function sameHour(b: Uint8Array, start: number): boolean {
  if (lastHourSeconds !== lastHourSeconds) return false; // NaN: none yet
  for (let k = HOUR_PREFIX - 1; k >= 0; k--) if (b[start + k] !== lastHour[k]) return false; // the hour differs first
  return true;
}

/**
 * ISO-8601 `YYYY-MM-DD`, or `YYYY-MM-DD(T|t| )HH:MM[:SS[.fraction]][Z|z|±HH:MM|±HHMM]`.
 * No offset means UTC. Fractions beyond microseconds are truncated. Returns false when the text is not one.
 */
export function parseTimestamp(b: Uint8Array, start: number, end: number): boolean {
  if (end - start < 10) return false;
  let seconds: number;
  let i: number;
  if (end - start >= 16 && sameHour(b, start)) {
    // the same bytes passed every check below up to the hour
    seconds = lastHourSeconds;
    i = start + 10;
  } else {
    const days = dateAt(b, start);
    if (Number.isNaN(days)) return false;
    seconds = days * 86400;
    i = start + 10;
    if (i === end) {
      parsedTimestamp.hasTime = false;
      parsedTimestamp.seconds = seconds;
      parsedTimestamp.micros = 0;
      return true;
    }
    const sep = b[i];
    if (sep !== 0x54 && sep !== 0x74 && sep !== 0x20) return false;
    if (end - i < 6) return false;
    const hour = digits(b, i + 1, 2);
    if (hour < 0 || hour > 23) return false;
    seconds += hour * 3600;
    for (let k = 0; k < HOUR_PREFIX; k++) lastHour[k] = b[start + k]!;
    lastHourSeconds = seconds;
  }
  return parseTimeAfterHour(b, i, end, seconds);
}

/** The rest of a timestamp from `:MM` (`b[i]` is the date-time separator, the hour is valid and in `seconds`). */
function parseTimeAfterHour(b: Uint8Array, i: number, end: number, seconds: number): boolean {
  let micros = 0;
  const minute = digits(b, i + 4, 2);
  if (b[i + 3] !== 0x3a || minute < 0 || minute > 59) return false;
  seconds += minute * 60;
  i += 6;
  if (i < end && b[i] === 0x3a) {
    const second = end - i >= 3 ? digits(b, i + 1, 2) : -1;
    if (second < 0 || second > 59) return false;
    seconds += second;
    i += 3;
    if (i < end && b[i] === 0x2e) {
      i++;
      const fracStart = i;
      while (i < end && isDigit(b[i]!)) {
        if (i - fracStart < 6) micros = micros * 10 + (b[i]! - 0x30);
        i++;
      }
      const n = i - fracStart;
      if (n === 0 || n > 9) return false;
      for (let k = n; k < 6; k++) micros *= 10;
    }
  }
  if (i < end) {
    const c = b[i];
    if (c === 0x5a || c === 0x7a) i++;
    else if (c === 0x2b || c === 0x2d) {
      const oh = digits(b, i + 1, 2);
      let om: number;
      if (end - i === 6 && b[i + 3] === 0x3a) om = digits(b, i + 4, 2);
      else if (end - i === 5) om = digits(b, i + 3, 2);
      else return false;
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
      const offset = oh * 3600 + om * 60;
      seconds += c === 0x2b ? -offset : offset;
      i = end;
    } else return false;
  }
  if (i !== end) return false;
  parsedTimestamp.hasTime = true;
  parsedTimestamp.seconds = seconds;
  parsedTimestamp.micros = micros;
  return true;
}

const encoder = new TextEncoder();

/** Convenience for strings (schema inference, tests): is `s` an ISO timestamp with a time part? */
export function isTimestampWithTime(s: string): boolean {
  const b = encoder.encode(s);
  return parseTimestamp(b, 0, b.length) && parsedTimestamp.hasTime;
}
