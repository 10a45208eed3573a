/** Pieces of dead-letter reasons: they say exactly what was wrong and where. */

const decoder = new TextDecoder();
const PREVIEW_CHARS = 60;

/** The text of `b[start, end)`, cut to about 60 characters. */
export function preview(b: Uint8Array, start: number, end: number): string {
  const text = decoder.decode(b.subarray(start, Math.min(end, start + PREVIEW_CHARS * 4)));
  return trimmed(text, end - start > PREVIEW_CHARS * 4);
}

export function trimmed(text: string, cut = false): string {
  const chars = Array.from(text);
  return chars.length > PREVIEW_CHARS || cut ? `${chars.slice(0, PREVIEW_CHARS).join('')}…` : text;
}

const KIB = 1024;
const MIB = 1024 * 1024;

/** `2.1 MiB`, `512 KiB`, `300 bytes`. */
export function formatBytes(n: number): string {
  if (n >= MIB) return `${round1(n / MIB)} MiB`;
  if (n >= KIB) return `${round1(n / KIB)} KiB`;
  return `${n} bytes`;
}

function round1(x: number): string {
  return String(Math.round(x * 10) / 10);
}

export function tooLarge(bytes: number, max: number): string {
  const size = formatBytes(bytes);
  const limit = formatBytes(max);
  if (size === limit) return `value is ${bytes} bytes, over max_value_bytes ${limit} (${max} bytes)`;
  return `value is ${size}, over max_value_bytes ${limit}`;
}

export const NO_VALUE = 'record has no value';

export function missingField(name: string): string {
  return `missing required field '${name}'`;
}

export function requiredNull(name: string): string {
  return `required field '${name}' is null`;
}
