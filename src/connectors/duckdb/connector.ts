import { resolve } from 'node:path';
import { z } from 'zod';
import { pathOption } from '../../sink/file-sink-options.js';
import { sinkFactory, type Connector } from '../connector.js';
import { DuckDbSink } from './duckdb-sink.js';

/** `connector = 'duckdb'`: rows appended (or upserted) to a table of a DuckDB file, with the batch id in the same transaction. */
export const duckdbConnector: Connector = {
  name: 'duckdb',
  sink: sinkFactory({
    options: z.strictObject({ path: pathOption, table: z.string().min(1, 'must not be empty') }),
    hints: { path: "'<file>.duckdb'", table: "'<table>'" },
    create: (name, o) => new DuckDbSink(name, resolve(o.path), o.table),
  }),
};
