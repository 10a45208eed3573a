import { z } from 'zod';

/** `path = 'out/errors'`: where a file sink writes (resolved against process.cwd()). */
export const pathOption = z.string().trim().min(1, 'must not be empty');

/** `partition_by = 'dt, hm'`: column names, comma-separated. */
export const partitionByOption = z
  .string()
  .transform((s) => s.split(',').map((c) => c.trim()))
  .refine((cols) => cols.every((c) => c.length > 0), 'must name columns, comma-separated')
  .refine((cols) => new Set(cols.map((c) => c.toLowerCase())).size === cols.length, 'names a column twice')
  .optional();
