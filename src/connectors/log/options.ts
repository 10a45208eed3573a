import { z } from 'zod';
import { positiveInt } from '../../util/whole-number.js';

/** `CREATE SOURCE … WITH (connector = 'log', …)` (the default connector): every option, checked at start. */
export const logSourceOptions = z
  .object({
    path: z.string().min(1, 'must not be empty'),
    format: z.enum(['json', 'text', 'csv', 'raw']).default('json'),
    schema: z.string().optional(),
    event_time: z.string().optional(),
    watermark: z.string().optional(),
    idle_timeout: z.string().optional(),
    late_data_path: z.string().optional(),
    starting_offsets: z.enum(['earliest', 'latest']).default('earliest'),
    max_value_bytes: positiveInt.optional(),
    dead_letter_path: z.string().optional(),
  })
  .strict();

export type LogSourceConfig = z.infer<typeof logSourceOptions>;
