import type { Writable } from 'node:stream';
import type { z } from 'zod';
import type { SourceDef } from '../job/parse-job.js';
import type { Sink } from '../sink/sink.js';
import type { Source } from '../source/source.js';
import type { OptionsSpec } from './options-error.js';

/** What the caller (the CLI, a test, a library user) decides for every connector of a job: settings outside the job file. */
export interface ConnectorContext {
  /** The job's directory. Relative paths are resolved against process.cwd(), not against this. */
  readonly jobDir?: string;
  /** Where the console sink prints (default process.stdout). */
  readonly stdout?: Writable;
  /** Let Kafka clients log their errors (the CLI's --kafka-log); default silent. */
  readonly kafkaLog?: boolean;
  /** The job's name (its file's name): sinks that record their batches in a shared table key them by job and sink. */
  readonly job?: string;
  /** The job's checkpoint directory: landing sources keep their landing log under `<it>/landing/<source>` by default. */
  readonly checkpointDir?: string;
}

/** How `CREATE SOURCE … WITH (connector = '<name>', …)` becomes a Source: options checked up front, then opened. */
export interface SourceFactory<S extends z.ZodType = z.ZodType> extends OptionsSpec<S> {
  readonly create: (def: SourceDef, options: z.output<S>, ctx: ConnectorContext) => Promise<Source>;
}

/** How `CREATE SINK … WITH (connector = '<name>', …)` becomes a Sink. */
export interface SinkFactory<S extends z.ZodType = z.ZodType> extends OptionsSpec<S> {
  readonly create: (name: string, options: z.output<S>, ctx: ConnectorContext) => Sink;
}

/** One connector (Arroyo's model): a folder under src/connectors/, a source and/or a sink, registered once. */
export interface Connector {
  readonly name: string;
  readonly source?: SourceFactory;
  readonly sink?: SinkFactory;
}

/** Typed at the definition, erased in the registry (each factory checks its own options). */
export function sourceFactory<S extends z.ZodType>(f: SourceFactory<S>): SourceFactory {
  return f as unknown as SourceFactory;
}

export function sinkFactory<S extends z.ZodType>(f: SinkFactory<S>): SinkFactory {
  return f as unknown as SinkFactory;
}
