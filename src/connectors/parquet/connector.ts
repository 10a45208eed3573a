import { resolve } from 'node:path';
import { z } from 'zod';
import { partitionByOption, pathOption } from '../../sink/file-sink-options.js';
import { sinkFactory, type Connector } from '../connector.js';
import { ParquetSink, parquetCompressions } from './parquet-sink.js';

/**
 * `connector = 'parquet'`: a table directory of one Parquet file per batch (optionally Hive-partitioned), exactly
 * once by batch id through staging and rename; the job's notebook catalog has a view over each Parquet sink.
 */
export const parquetConnector: Connector = {
  name: 'parquet',
  sink: sinkFactory({
    options: z.strictObject({
      path: pathOption,
      compression: z
        .string()
        .transform((s) => s.toLowerCase())
        .pipe(z.enum(parquetCompressions, `must be one of ${parquetCompressions.join(', ')}`))
        .optional(),
      partition_by: partitionByOption,
    }),
    hints: { path: "'<dir>'" },
    create: (name, o) => new ParquetSink(name, resolve(o.path), o.compression, o.partition_by),
  }),
};
