import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { userError, type DuckstreamError } from '../errors.js';
import { ConsoleSink } from './console-sink.js';
import { DuckDbSink } from './duckdb-sink.js';
import { JsonlSink } from './jsonl-sink.js';
import { kafkaSinkConnector } from '../connectors/kafka/kafka-sink-options.js';
import { ParquetSink, parquetCompressions } from './parquet-sink.js';
import type { Sink } from './sink.js';

export interface SinkContext {
  /** The job's directory. Relative sink paths are resolved against process.cwd(), not against this. */
  readonly jobDir: string;
  /** Where the console sink prints (default process.stdout). */
  readonly stdout?: Writable;
  /** Let the Kafka client log its errors (see KafkaClientOptions.log). */
  readonly kafkaLog?: boolean;
}

interface Connector<S extends z.ZodType> {
  /** Options besides `connector`; unknown keys are refused. */
  readonly options: S;
  /** What each required option looks like, for "needs path = '<dir>'". */
  readonly hints: Readonly<Record<string, string>>;
  readonly create: (name: string, options: z.output<S>, ctx: SinkContext) => Sink;
}

function connector<S extends z.ZodType>(c: Connector<S>): Connector<S> {
  return c;
}

const path = z.string().trim().min(1, 'must not be empty');
/** `partition_by = 'dt, hm'`: column names, comma-separated. */
const partitionBy = z
  .string()
  .transform((s) => s.split(',').map((c) => c.trim()))
  .refine((cols) => cols.every((c) => c.length > 0), 'must name columns, comma-separated')
  .refine((cols) => new Set(cols.map((c) => c.toLowerCase())).size === cols.length, 'names a column twice')
  .optional();

const positiveInt = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'must be a positive whole number')
  .transform(Number);

/** Every sink connector, by the name a job gives in `WITH (connector = '…')`. */
const connectors = {
  parquet: connector({
    options: z.strictObject({
      path,
      compression: z
        .string()
        .transform((s) => s.toLowerCase())
        .pipe(z.enum(parquetCompressions, `must be one of ${parquetCompressions.join(', ')}`))
        .optional(),
      partition_by: partitionBy,
    }),
    hints: { path: "'<dir>'" },
    create: (name, o) => new ParquetSink(name, resolve(o.path), o.compression, o.partition_by),
  }),
  jsonl: connector({
    // No partition_by: DuckDB 1.5's COPY … (FORMAT JSON) has no PARTITION_BY.
    options: z.strictObject({ path }),
    hints: { path: "'<dir>'" },
    create: (name, o) => new JsonlSink(name, resolve(o.path)),
  }),
  duckdb: connector({
    options: z.strictObject({ path, table: z.string().min(1, 'must not be empty') }),
    hints: { path: "'<file>.duckdb'", table: "'<table>'" },
    create: (name, o) => new DuckDbSink(name, resolve(o.path), o.table),
  }),
  console: connector({
    options: z.strictObject({ max_rows: positiveInt.optional() }),
    hints: {},
    create: (name, o, ctx) => new ConsoleSink(name, { maxRows: o.max_rows, out: ctx.stdout }),
  }),
  kafka: connector(kafkaSinkConnector),
} as const;

export type SinkConnectorName = keyof typeof connectors;
export const sinkConnectors = Object.keys(connectors) as SinkConnectorName[];

/**
 * The sink a job declares as `CREATE SINK name WITH (connector = '…', …)`: options validated up front, with messages
 * that say how to fix them, e.g. "sink 'errors': connector 'parquet' needs path = '<dir>'".
 */
export function createSink(name: string, options: Record<string, string>, ctx: SinkContext): Sink {
  const { connector: connectorName, ...rest } = options;
  const known = sinkConnectors.map((c) => `'${c}'`).join(', ');
  if (connectorName === undefined) {
    throw userError(`sink '${name}' needs connector = <one of ${known}>`, `add connector = '<name>' to its WITH (…) options`);
  }
  if (!Object.hasOwn(connectors, connectorName)) {
    throw userError(`sink '${name}': unknown connector '${connectorName}'`, `use one of ${known}`);
  }
  const c = connectors[connectorName as SinkConnectorName] as unknown as Connector<z.ZodType>;
  const parsed = c.options.safeParse(rest);
  if (!parsed.success) throw optionsError(name, connectorName, c, rest, parsed.error);
  return c.create(name, parsed.data, ctx);
}

function optionsError(
  name: string,
  connectorName: string,
  c: Connector<z.ZodType>,
  given: Record<string, string>,
  error: z.ZodError,
): DuckstreamError {
  const prefix = `sink '${name}': connector '${connectorName}'`;
  const accepted = acceptedOptions(c);
  const problems = error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    if (issue.code === 'unrecognized_keys') {
      return `does not take ${issue.keys.map((k) => `'${k}'`).join(', ')} (it takes ${accepted.length > 0 ? accepted.join(', ') : 'no options'})`;
    }
    const value = given[key];
    if (value === undefined) return `needs ${key} = ${c.hints[key] ?? `'<${key}>'`}`;
    return `${key} = '${value}' ${issue.message}`;
  });
  return userError(`${prefix} ${problems.join('; ')}`, `fix the WITH (…) options of sink '${name}'`);
}

function acceptedOptions(c: Connector<z.ZodType>): string[] {
  const shape = (c.options as unknown as { shape?: Record<string, unknown> }).shape;
  return ['connector', ...Object.keys(shape ?? {})];
}
