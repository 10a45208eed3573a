import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { DuckstreamError, userError, errorMessage, internalError } from '../errors.js';
import { aggregateFunctionNames, analyzeQuery } from '../job/analyze-query.js';
import { sourceReadColumns, type ReadColumns } from '../job/source-columns.js';
import { planSink } from '../stateful/plan-sink.js';
import type { SinkPlan, SourceTimeInfo } from '../stateful/planning-types.js';
import type { OutputMode, StatefulOperator } from '../stateful/operator.js';
import { parseDuration } from '../util/duration.js';
import type { WatermarkSpec } from './watermark.js';
import type { JobDef, SinkDef, TableDef } from '../job/parse-job.js';
import { METADATA_NAMES } from '../source/metadata-columns.js';
import { createSource } from '../connectors/registry.js';
import type { Source } from '../source/source.js';
import { createSink } from '../connectors/registry.js';
import type { ParquetSink } from '../connectors/parquet/parquet-sink.js';
import type { Sink } from '../sink/sink.js';
import type { CatalogView } from '../sink/notebook-catalog.js';
import { ident, literal, type Engine } from '../sql/engine.js';

export interface CompiledSink {
  readonly def: SinkDef;
  readonly sink: Sink;
  /** How the query runs: batch by batch, or through a stateful operator. */
  readonly plan: SinkPlan;
  /** The streaming sources the query reads. */
  readonly sources: readonly string[];
  readonly mode: OutputMode;
  /**
   * A stateful sink's operator planned afresh, to bind its SQL on empty inputs without touching the job's own
   * instance (which creates its state tables on its first batch). Absent: not bound before its first batch.
   */
  readonly bindingOperator?: () => Promise<StatefulOperator>;
}

/** A job ready to run: sources and sinks opened, static tables registered, queries checked. */
export interface CompiledJob {
  readonly def: JobDef;
  readonly sources: readonly Source[];
  readonly sinks: readonly CompiledSink[];
  /** Per source name: where its undecodable records go. */
  readonly deadLetterDirs: ReadonlyMap<string, string>;
  /** Event-time expression per source that has one. */
  readonly eventTime: ReadonlyMap<string, string>;
  readonly watermarks: readonly WatermarkSpec[];
  /**
   * Per source with `late_data_path`: the sink its rows behind the watermark go to (JSON lines, one file per batch
   * with late rows). Opened and closed with the job's sinks; not a job sink (no progress entry, no catalog view).
   */
  readonly lateRowSinks: ReadonlyMap<string, Sink>;
  readonly operators: readonly StatefulOperator[];
  /**
   * Per source: the metadata columns loaded into DuckDB (the others are left out of its table); a source not
   * listed loads them all. bindQueries returns the job without a source whose queries do not bind without them.
   */
  readonly metadataColumns: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * The notebook catalog over the job's Parquet sinks: `<dir of the first one>/catalog.duckdb`, shared with other jobs
   * writing there; `job` (the job file's absolute path) owns the views.
   */
  readonly catalog: { readonly path: string; readonly job: string; readonly views: readonly CatalogView[] } | undefined;
  /** Run a batch on every interval trigger tick even without new data (DStream jobs: windows slide by batch). */
  readonly batchEveryInterval?: boolean;
}

export interface CompileOptions {
  readonly checkpointDir: string;
  readonly stdout?: Writable;
  /** Let Kafka clients log their errors (the CLI's --kafka-log). */
  readonly kafkaLog?: boolean;
}

export async function compileJob(def: JobDef, engine: Engine, options: CompileOptions): Promise<CompiledJob> {
  for (const table of def.tables) await registerStaticTable(engine, table);
  for (const stmt of def.setup) {
    try {
      await engine.run(stmt);
    } catch (err) {
      throw userError(`${def.file}: statement failed: ${errorMessage(err)}`, 'fix or remove the statement');
    }
  }
  const sources: Source[] = [];
  try {
    for (const s of def.sources) sources.push(await createSource(s, { kafkaLog: options.kafkaLog, checkpointDir: options.checkpointDir }));
  } catch (err) {
    await Promise.all(sources.map((s) => s.close()));
    throw err;
  }
  const times = sourceTimes(def);
  const aggregates = await aggregateFunctionNames(engine);
  const sinks: CompiledSink[] = [];
  for (const s of def.sinks) {
    let analysis;
    try {
      analysis = await analyzeQuery(engine, s.query, aggregates);
    } catch (err) {
      throw userError(`${def.file}:${s.line}: sink '${s.name}': ${errorMessage(err)}`, 'fix the query');
    }
    const { output_mode: modeOption, key: keyOption, ...sinkOptions } = s.options;
    if (modeOption !== undefined && !['append', 'update', 'complete'].includes(modeOption)) {
      throw userError(`sink '${s.name}': output_mode '${modeOption}' is not an output mode`, "use 'append', 'update' or 'complete'");
    }
    const key = keyOption
      ?.split(',')
      .map((k) => k.trim())
      .filter((k) => k.length > 0);
    const request = { name: s.name, query: s.query, outputMode: modeOption as OutputMode | undefined, key };
    const plan = await planSink(engine, request, analysis, times);
    const sink = createSink(s.name, sinkOptions, { jobDir: dirname(resolve(def.file)), stdout: options.stdout, kafkaLog: options.kafkaLog, job: def.name });
    const mode = plan.kind === 'stateful' ? plan.operator.mode : 'append';
    if (mode === 'complete' && sinkOptions['partition_by'] !== undefined) {
      throw userError(
        `sink '${s.name}': partition_by does not apply to output_mode 'complete' (the whole result is one file, replaced each batch)`,
        'remove partition_by, or use output_mode append/update',
      );
    }
    if (plan.kind === 'stateful' && plan.operator.streams.length > 1) requireDeclaredSchemas(s.name, plan.operator.streams, def);
    const bindingOperator = async () => {
      const fresh = await planSink(engine, request, analysis, times);
      if (fresh.kind !== 'stateful') throw internalError(`sink '${s.name}': planned stateful once, stateless the second time`);
      return fresh.operator;
    };
    sinks.push({
      def: s,
      sink,
      plan,
      sources: plan.kind === 'stateful' ? plan.operator.streams : [plan.source],
      mode,
      ...(plan.kind === 'stateful' ? { bindingOperator } : {}),
    });
  }
  const read = await keepReadColumns(engine, def, sources, sinks);
  const operators = sinks.flatMap((s) => (s.plan.kind === 'stateful' ? [s.plan.operator] : []));
  return {
    def,
    sources,
    sinks,
    deadLetterDirs: deadLetterDirs(def, options.checkpointDir),
    eventTime: new Map(times.filter((t) => t.eventTimeSql).map((t) => [t.name, t.eventTimeSql!])),
    watermarks: watermarkSpecs(def),
    lateRowSinks: lateRowSinks(def, options),
    operators,
    // Only when every operator stores named columns only: the others keep the shape their state tables always had.
    metadataColumns: operators.every((op) => op.storesNamedColumnsOnly) ? metadataRead(read) : new Map(),
    catalog: catalogOf(def, sinks),
  };
}

/**
 * Tell each source which value columns the job reads, so the others never reach Arrow or DuckDB (they are still
 * decoded and checked). Stateful operators that store source rows as a projection of what their query reads
 * (windows, aggregates, delta joins) are covered by the query analysis; any other one (deduplication, interval
 * joins: `SELECT *` into state, inserted by position) gets whole rows, so its state keeps the shape it always had.
 */
async function keepReadColumns(engine: Engine, def: JobDef, sources: readonly Source[], sinks: readonly CompiledSink[]): Promise<Map<string, ReadColumns>> {
  const wholeRows = sinks.flatMap((s) => (s.plan.kind === 'stateful' && s.plan.operator.storesWholeRows ? s.plan.operator.streams : []));
  const read = await sourceReadColumns(engine, def, { wholeRows });
  for (const source of sources) {
    const columns = read.get(source.name);
    source.keepColumns?.(columns ? [...columns] : undefined);
  }
  return read;
}

/** Per source whose columns the analysis narrowed: the metadata columns its queries name. */
function metadataRead(read: ReadonlyMap<string, ReadColumns>): Map<string, ReadonlySet<string>> {
  const out = new Map<string, ReadonlySet<string>>();
  for (const [source, columns] of read) {
    if (columns) out.set(source, new Set([...columns].filter((c) => METADATA_NAMES.has(c))));
  }
  return out;
}

/** A JSON-lines sink per source with `late_data_path` (resolved against the working directory, as sink paths are). */
function lateRowSinks(def: JobDef, options: CompileOptions): Map<string, Sink> {
  const sinks = new Map<string, Sink>();
  for (const s of def.sources) {
    const path = s.options['late_data_path'];
    if (path) sinks.set(s.name, createSink(`${s.name}_late`, { connector: 'jsonl', path }, { jobDir: dirname(resolve(def.file)), stdout: options.stdout }));
  }
  return sinks;
}

function sourceTimes(def: JobDef): SourceTimeInfo[] {
  const specs = watermarkSpecs(def);
  return def.sources.map((s) => ({
    name: s.name,
    eventTimeSql: s.options['event_time'],
    delayMs: specs.find((w) => w.source === s.name)?.delayMs ?? 0,
    // A column list after the name declares the schema as much as `schema = '…'` does.
    schema: s.columns ?? s.options['schema'],
  }));
}

function watermarkSpecs(def: JobDef): WatermarkSpec[] {
  const duration = (source: string, option: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined || ms < 0) throw userError(`source '${source}': ${option} '${text}' is not a duration`, `write e.g. ${option} = '5 seconds'`);
    return ms;
  };
  return def.sources
    .filter((s) => s.options['event_time'])
    .map((s) => ({
      source: s.name,
      delayMs: duration(s.name, 'watermark', s.options['watermark']) ?? 0,
      idleTimeoutMs: duration(s.name, 'idle_timeout', s.options['idle_timeout']),
    }));
}

/**
 * A job owns its views in the shared catalog by its name (as its default checkpoint is named): the same job when its
 * file is edited or it is re-run on a new checkpoint.
 */
function catalogOf(def: JobDef, sinks: readonly CompiledSink[]): CompiledJob['catalog'] {
  const parquet = sinks.filter((s) => s.def.options['connector'] === 'parquet' && s.def.options['path']);
  if (parquet.length === 0) return undefined;
  return {
    path: join(dirname(resolve(parquet[0]!.def.options['path']!)), 'catalog.duckdb'),
    job: def.name,
    views: parquet.map((s) => ({
      name: s.def.name,
      parquetGlob: (s.sink as ParquetSink).glob,
      latestBy: s.mode === 'update' && s.plan.kind === 'stateful' ? s.plan.operator.keyColumns : undefined,
    })),
  };
}

/**
 * A query over several streams needs every stream's columns from the first batch on: a stream whose schema is
 * inferred has none until its first record, and the other streams' rows of the batches before could not enter the
 * join's state (they would be lost to it). So such streams must declare their schema (text and raw have a fixed one).
 */
function requireDeclaredSchemas(sink: string, streams: readonly string[], def: JobDef): void {
  for (const name of streams) {
    const source = def.sources.find((x) => x.name.toLowerCase() === name.toLowerCase());
    const format = source?.options['format'] ?? 'json';
    if (!source || source.columns !== undefined || source.options['schema'] !== undefined || format === 'text' || format === 'raw') continue;
    throw userError(
      `sink '${sink}' joins ${streams.join(', ')}, but source '${source.name}' has no declared schema: until its first record its columns are unknown, and the other streams' rows could not be joined with it`,
      `declare it: CREATE SOURCE ${source.name} WITH (…, schema = 'col1 TYPE, col2 TYPE, …')`,
    );
  }
}

async function registerStaticTable(engine: Engine, t: TableDef): Promise<void> {
  const connector = t.options['connector'];
  const path = t.options['path'];
  if (!path) throw userError(`table '${t.name}' needs path = '<file or glob>'`);
  const readers: Record<string, string> = { parquet: 'read_parquet', csv: 'read_csv', json: 'read_json_auto' };
  try {
    if (connector === 'duckdb') {
      const table = t.options['table'] ?? t.name;
      const alias = `static_${t.name}`;
      await engine.run(`ATTACH IF NOT EXISTS ${literal(resolve(path))} AS ${ident(alias)} (READ_ONLY)`);
      await engine.run(`CREATE OR REPLACE VIEW ${ident(t.name)} AS SELECT * FROM ${ident(alias)}.${ident(table)}`);
      return;
    }
    const reader = connector ? readers[connector] : undefined;
    if (!reader) throw userError(`table '${t.name}': connector must be one of parquet, csv, json, duckdb (got '${connector ?? ''}')`);
    // A view: the static side is re-read each batch, so a notebook or job that rewrites it is seen (Spark's stream-static join).
    await engine.run(`CREATE OR REPLACE VIEW ${ident(t.name)} AS SELECT * FROM ${reader}(${literal(resolve(path))})`);
    await engine.run(`DESCRIBE ${ident(t.name)}`);
  } catch (err) {
    if (err instanceof DuckstreamError) throw err; // CorruptFileError too: a subclass
    throw userError(`table '${t.name}': cannot read ${path}: ${errorMessage(err)}`, 'check the path and connector');
  }
}

/** Dead letters go next to the job's first file sink (`<its dir>/<source>.dead_letter/`), else into the checkpoint. */
function deadLetterDirs(def: JobDef, checkpointDir: string): Map<string, string> {
  const fileSink = def.sinks.find((s) => s.options['path'] && s.options['connector'] !== 'duckdb') ?? def.sinks.find((s) => s.options['path']);
  const base = fileSink ? dirname(resolve(fileSink.options['path']!)) : join(checkpointDir, 'dead_letter');
  return new Map(
    def.sources.map((s) => [s.name, s.options['dead_letter_path'] ? resolve(s.options['dead_letter_path']) : join(base, `${s.name}.dead_letter`)]),
  );
}
