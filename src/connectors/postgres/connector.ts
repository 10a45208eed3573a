import { z } from 'zod';
import { positiveInt, wholeNumber } from '../../util/whole-number.js';
import { sinkFactory, type Connector } from '../connector.js';
import { pgTarget } from './pg-connection.js';
import { parseTableName } from './pg-table.js';
import { PostgresSink } from './postgres-sink.js';

/**
 * `url` is only checked for being non-empty here: the option formatter prints a refused value as given, and a URL
 * may hold a password. pgTarget checks the rest with messages that show it masked.
 */
const options = z.strictObject({
  url: z.string().min(1, 'must not be empty'),
  /** The name of an environment variable holding the password (never the password itself). */
  password_env: z.string().min(1).optional(),
  table: z.string().min(1, 'must not be empty'),
  retries: wholeNumber.default(8),
  retry_backoff_ms: positiveInt.default(200),
  connect_timeout_ms: positiveInt.default(5000),
});

/**
 * `connector = 'postgres'`: each batch's rows written to a PostgreSQL table (COPY; upsert in update mode; replaced
 * in complete mode) in one transaction with the sink's last batch id, so a replayed batch is a no-op
 * (docs/connectors/postgres.md). Output mode and `key` are the job's sink options, as for every sink.
 */
export const postgresConnector: Connector = {
  name: 'postgres',
  sink: sinkFactory({
    options,
    hints: { url: "'postgres://user@host:5432/database'", table: "'<table>' or '<schema>.<table>'" },
    create: (name, o, ctx) =>
      new PostgresSink(name, {
        target: pgTarget(name, o.url, o.password_env, process.env),
        table: parseTableName(name, o.table),
        job: ctx.job ?? 'duckstream',
        retry: { retries: o.retries, initialMs: o.retry_backoff_ms, maxMs: 5000 },
        connectTimeoutMs: o.connect_timeout_ms,
      }),
  }),
};
