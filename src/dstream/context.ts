import { userError } from '../errors.js';
import type { SourceDef } from '../job/parse-job.js';
import { METADATA_COLUMNS } from '../source/metadata-columns.js';
import { parseSchemaText } from '../source/schema.js';
import { DStream, type GraphBuilder } from './dstream.js';
import { seconds, type Duration } from '../util/duration.js';
import type { GraphNode, OutputDef, OutputTarget, Step } from './graph.js';

export interface StreamingContextOptions {
  /** The batch interval (Spark's batchDuration): the trigger interval of the run. Default 1 s. */
  readonly batchInterval?: Duration;
}

export interface LogStreamOptions {
  /** How records decode: `text` (one `value` column, the default), `json` or `csv` (those need `schema`). */
  readonly format?: 'text' | 'json' | 'csv';
  /** Value columns: `'user VARCHAR, n INTEGER'`. */
  readonly schema?: string;
  /** The source's name in checkpoints and progress records (default: the log directory's name). */
  readonly name?: string;
  readonly startingOffsets?: 'earliest' | 'latest';
  /** Keep the metadata columns `_topic, _partition, _offset, _timestamp, _key` in the stream's rows. */
  readonly metadata?: boolean;
}

export interface KafkaStreamOptions {
  readonly brokers: string;
  readonly topic: string;
  readonly format?: 'text' | 'json' | 'csv';
  readonly schema?: string;
  readonly name?: string;
  readonly metadata?: boolean;
  /** Any other option of the Kafka source (`starting_offsets`, `group_id`, `max_records_per_partition`, …). */
  readonly options?: Readonly<Record<string, string>>;
}

export interface StreamSource {
  readonly def: SourceDef;
  readonly metadata: boolean;
}

/**
 * Spark Streaming's StreamingContext: where a DStream job declares its input streams. A job module's default
 * export receives one: `export default function job(ssc: StreamingContext) { … }`.
 */
export class StreamingContext implements GraphBuilder {
  readonly batchInterval: Duration;
  /** @internal */ readonly sources: StreamSource[] = [];
  /** @internal */ readonly outputs: OutputDef[] = [];
  /** @internal */ readonly nodes: GraphNode[] = [];

  constructor(options: StreamingContextOptions = {}) {
    this.batchInterval = options.batchInterval ?? seconds(1);
    if (!(this.batchInterval > 0)) throw userError(`batch interval ${this.batchInterval} ms is not positive`, 'use e.g. seconds(1)');
  }

  /** A stream of the records of an embedded log (`duckstream log create …`). */
  logStream(path: string, options: LogStreamOptions = {}): DStream {
    const format = options.format ?? 'text';
    const name = this.sourceName(options.name ?? path.split('/').filter(Boolean).at(-1) ?? 'log');
    const opts: Record<string, string> = { connector: 'log', path, format };
    if (options.schema) opts['schema'] = options.schema;
    if (options.startingOffsets) opts['starting_offsets'] = options.startingOffsets;
    return this.addSource(name, opts, format, options.schema, options.metadata ?? false);
  }

  /** A stream of a Kafka topic's records (the Kafka source: exact offset ranges from the checkpoint). */
  kafkaStream(options: KafkaStreamOptions): DStream {
    const format = options.format ?? 'text';
    const name = this.sourceName(options.name ?? options.topic);
    const opts: Record<string, string> = { connector: 'kafka', brokers: options.brokers, topic: options.topic, format, ...(options.options ?? {}) };
    if (options.schema) opts['schema'] = options.schema;
    return this.addSource(name, opts, format, options.schema, options.metadata ?? false);
  }

  /** @internal */
  addNode(step: Step, inputs: readonly GraphNode[]): GraphNode {
    const node = { id: this.nodes.length, step, inputs };
    this.nodes.push(node);
    return node;
  }

  /** @internal */
  addOutput(prefix: string, node: GraphNode, target: OutputTarget, name?: string): void {
    const chosen = name ?? `${prefix}_${this.outputs.length}`;
    if (this.outputs.some((o) => o.name === chosen)) throw userError(`two outputs are named '${chosen}'`, 'give each output its own name');
    this.outputs.push({ name: chosen, node, target });
  }

  private sourceName(wanted: string): string {
    let name = wanted.replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(name)) name = `s_${name}`;
    for (let i = 2; this.sources.some((s) => s.def.name === name); i++) name = `${wanted}_${i}`;
    return name;
  }

  private addSource(name: string, options: Record<string, string>, format: string, schema: string | undefined, metadata: boolean): DStream {
    if (format !== 'text' && schema === undefined) {
      throw userError(
        `stream '${name}': format '${format}' needs its columns up front in a DStream job`,
        `add schema: 'col1 TYPE, col2 TYPE' (types: BOOLEAN, INTEGER, BIGINT, DOUBLE, VARCHAR, TIMESTAMP, DATE, JSON)`,
      );
    }
    let columns: { name: string; type: string }[];
    try {
      columns = schema === undefined ? [{ name: 'value', type: 'VARCHAR' }] : parseSchemaText(schema).map((c) => ({ name: c.name, type: c.type }));
    } catch (err) {
      throw userError(`stream '${name}': ${(err as Error).message}`);
    }
    if (metadata) columns = [...METADATA_COLUMNS.map((c) => ({ name: c, type: '' })), ...columns];
    const def: SourceDef = { name, options, columns: undefined, line: 0 };
    this.sources.push({ def, metadata });
    return new DStream(this, this.addNode({ kind: 'source', source: name, columns }, []));
  }
}
