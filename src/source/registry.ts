import { resolve } from 'node:path';
import { z } from 'zod';
import { userError } from '../errors.js';
import type { SourceDef } from '../job/parse-job.js';
import { createKafkaSource } from '../connectors/kafka/factory.js';
import { LogSource } from './log-source.js';
import { parseSchemaText } from './schema.js';
import { RAW_SCHEMA, TEXT_SCHEMA } from './decode/index.js';
import type { Source } from './source.js';

const logOptions = z
  .object({
    connector: z.literal('log').default('log'),
    path: z.string({ error: "needs path = '<log directory>'" }).min(1),
    format: z.enum(['json', 'text', 'csv', 'raw']).default('json'),
    schema: z.string().optional(),
    event_time: z.string().optional(),
    watermark: z.string().optional(),
    idle_timeout: z.string().optional(),
    late_data_path: z.string().optional(),
    starting_offsets: z.enum(['earliest', 'latest']).default('earliest'),
    max_value_bytes: z.coerce.number().int().positive().optional(),
    dead_letter_path: z.string().optional(),
  })
  .strict();

export type LogSourceConfig = z.infer<typeof logOptions>;

/** The connectors a job's CREATE SOURCE can name, in one map (Arroyo's registry). */
/** What the caller (the CLI, a test) decides for every source, not the job: settings outside the job file. */
export interface SourceContext {
  /** Let the Kafka client log its errors (see KafkaClientOptions.log). */
  readonly kafkaLog?: boolean;
}

const FACTORIES: Record<string, (def: SourceDef, ctx: SourceContext) => Promise<Source>> = {
  log: async (def) => {
    const o = parseOptions(def, logOptions);
    const declared = def.columns ?? o.schema;
    let schema;
    try {
      schema = declared !== undefined ? parseSchemaText(declared) : o.format === 'text' ? TEXT_SCHEMA : o.format === 'raw' ? RAW_SCHEMA : undefined;
    } catch (err) {
      throw userError(`source '${def.name}': ${(err as Error).message}`);
    }
    if (o.format === 'csv' && !schema) throw userError(`source '${def.name}': csv needs declared columns`, `add schema = 'col1 TYPE, col2 TYPE, …' in field order`);
    return LogSource.open(def.name, resolve(o.path), {
      format: o.format,
      schema,
      maxValueBytes: o.max_value_bytes,
      startingPosition: o.starting_offsets,
      timestampColumns: o.event_time && /^[A-Za-z_][A-Za-z0-9_]*$/.test(o.event_time) ? [o.event_time] : [],
    });
  },
  kafka: createKafkaSource,
};

export async function createSource(def: SourceDef, ctx: SourceContext = {}): Promise<Source> {
  const connector = def.options['connector'] ?? 'log';
  const factory = FACTORIES[connector];
  if (!factory) throw userError(`source '${def.name}': unknown connector '${connector}'`, `use one of: ${Object.keys(FACTORIES).join(', ')}`);
  return factory(def, ctx);
}

export function parseOptions<T extends z.ZodType>(def: { name: string; options: Readonly<Record<string, string>> }, schema: T): z.infer<T> {
  const result = schema.safeParse(def.options);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => {
    if (i.code === 'unrecognized_keys') return `unknown option${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')}`;
    const key = i.path.join('.');
    return `option '${key}': ${i.message}`;
  });
  throw userError(`'${def.name}': ${problems.join('; ')}`, 'see the options table in the README');
}
