import { z } from 'zod';
import { positiveInt } from '../util/whole-number.js';

/**
 * The options every source takes, as the log source has them (issue 15: "every source keeps format, schema,
 * event_time, watermark, idle_timeout, late_data_path, dead_letter_path"). Decoding (`format`, `schema`,
 * `max_value_bytes`) is the format layer's; event time, watermark, idleness and late rows are read from the job's
 * source options by the driver (src/driver/compile-job.ts); dead letters go where `dead_letter_path` says. A new
 * source spreads this shape into its zod object so a job reads alike whatever the connector.
 */
export function commonSourceOptionShape() {
  return {
    format: z.enum(['json', 'text', 'csv', 'raw']).default('json'),
    schema: z.string().optional(),
    event_time: z.string().optional(),
    watermark: z.string().optional(),
    idle_timeout: z.string().optional(),
    late_data_path: z.string().optional(),
    max_value_bytes: positiveInt.optional(),
    dead_letter_path: z.string().optional(),
  };
}
