import { resolve } from 'node:path';
import { declaredSchema, timestampColumns } from '../../format/declared-schema.js';
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
      const schema = declaredSchema(def.name, o.format, def.columns ?? o.schema);
      return LogSource.open(def.name, resolve(o.path), {
        format: o.format,
        schema,
        maxValueBytes: o.max_value_bytes,
        startingPosition: o.starting_offsets,
        timestampColumns: timestampColumns(o.event_time),
      });
    },
  }),
};
