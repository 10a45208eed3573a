import { resolve } from 'node:path';
import { userError } from '../../errors.js';
import { RAW_SCHEMA, TEXT_SCHEMA } from '../../format/index.js';
import { parseSchemaText } from '../../source/schema.js';
import { sourceFactory, type Connector } from '../connector.js';
import { LogSource } from './log-source.js';
import { logSourceOptions } from './options.js';

/**
 * `connector = 'log'`: the embedded partitioned log (src/log/), the default source. A directory per topic that other
 * processes append to (`duckstream log append`); offsets are the log's own, so a replay reads exactly the same
 * records. No sink: jobs write to Parquet, JSONL, DuckDB, Kafka or the console.
 */
export const logConnector: Connector = {
  name: 'log',
  source: sourceFactory({
    options: logSourceOptions,
    hints: { path: "'<log directory>'" },
    create: async (def, o) => {
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
  }),
};
