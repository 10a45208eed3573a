import { z } from 'zod';
import { commonSourceOptionShape } from '../source-options.js';

/** `CREATE SOURCE … WITH (connector = 'log', …)` (the default connector): every option, checked at start. */
export const logSourceOptions = z
  .object({
    path: z.string().min(1, 'must not be empty'),
    ...commonSourceOptionShape(),
    starting_offsets: z.enum(['earliest', 'latest']).default('earliest'),
  })
  .strict();

export type LogSourceConfig = z.infer<typeof logSourceOptions>;
