import { resolve } from 'node:path';
import { z } from 'zod';
import { pathOption } from '../../sink/file-sink-options.js';
import { sinkFactory, type Connector } from '../connector.js';
import { JsonlSink } from './jsonl-sink.js';

/** `connector = 'jsonl'`: newline-delimited JSON, one file per batch, exactly once like Parquet. */
export const jsonlConnector: Connector = {
  name: 'jsonl',
  sink: sinkFactory({
    // No partition_by: DuckDB 1.5's COPY … (FORMAT JSON) has no PARTITION_BY.
    options: z.strictObject({ path: pathOption }),
    hints: { path: "'<dir>'" },
    create: (name, o) => new JsonlSink(name, resolve(o.path)),
  }),
};
