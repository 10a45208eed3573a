import { z } from 'zod';

/**
 * Counts in options and flags (`max_rows = '20'`, `--max-records-per-batch 5000`) are decimal digit strings only:
 * '1000', not '1e3', '0x10', ' 5' or '5.0'. One rule for every connector option and CLI flag, so a value accepted
 * in one place is accepted everywhere. Values above Number.MAX_SAFE_INTEGER are refused (they would not round-trip).
 */
export function parseWholeNumber(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A positive whole number given as decimal digits (see parseWholeNumber); 0 is refused. */
export function parsePositiveInt(text: string): number | undefined {
  const n = parseWholeNumber(text);
  return n !== undefined && n > 0 ? n : undefined;
}

/** zod: an option that is a positive whole number, as decimal digits. */
export const positiveInt = z
  .string()
  .refine((s) => parsePositiveInt(s) !== undefined, 'must be a positive whole number (decimal digits, e.g. 1000)')
  .transform(Number);

/** zod: an option that is a whole number ≥ 0, as decimal digits. */
export const wholeNumber = z
  .string()
  .refine((s) => parseWholeNumber(s) !== undefined, 'must be a whole number ≥ 0 (decimal digits)')
  .transform(Number);
