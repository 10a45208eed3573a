import { createHash } from 'node:crypto';
import { basename, extname, join, dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import * as arrow from 'apache-arrow';
import { createTableFromArrow } from '../arrow/arrow-to-duckdb.js';
import type { CompiledJob, CompiledSink } from '../driver/compile-job.js';
import { DuckstreamError, userError } from '../errors.js';
import type { JobDef, SinkDef } from '../job/parse-job.js';
import { createSink, createSource } from '../connectors/registry.js';
import type { Sink } from '../sink/sink.js';
import { batchSchema } from '../source/schema.js';
import type { Source } from '../source/source.js';
import { ident, literal, type Engine, type Row } from '../sql/engine.js';
import { stateTable, type Exec, type StatefulOperator } from '../stateful/operator.js';
import type { StreamingContext } from './context.js';
import { formatDuration } from '../util/duration.js';
import type { GraphNode, InverseReducer, Reducer, Schema, StateHandle, Step } from './graph.js';
import { registerJsonFunction } from './js-udf.js';
import { ForeachBatchSink, PrintSink } from './output-sinks.js';
import { Sql, isSql } from './sql.js';

interface Column {
  readonly name: string;
  readonly type: string;
}

/** A stream, compiled: its columns and the SQL relation holding a given batch's rows. */
interface CompiledNode {
  readonly columns: readonly Column[];
  /** A parenthesised relation with the batch's rows; `undefined` = an empty relation of the right types (binding). */
  rel(batchId: number | undefined): string;
  /** The stream has a batch every `slide` batches (a window's slide): at batch ids b with (b + 1) % slide == 0. */
  readonly slide: number;
  readonly sources: ReadonlySet<string>;
  /** Some step of its lineage keeps state (its rows then come from the state database). */
  readonly stateful: boolean;
}

export interface DStreamCompileOptions {
  /** The job module's path (names the job and its default checkpoint). */
  readonly file: string;
  readonly checkpointDir: string;
  readonly stdout?: Writable;
  /** Let Kafka clients log their errors (the CLI's --kafka-log). */
  readonly kafkaLog?: boolean;
}

const activeAt = (n: CompiledNode, b: number) => (b + 1) % n.slide === 0;
const relAt = (n: CompiledNode, b: number) => (activeAt(n, b) ? n.rel(b) : `(SELECT * FROM ${n.rel(b)} AS __ds_e LIMIT 0)`);
const cols = (names: readonly string[], prefix = '') => names.map((n) => prefix + ident(n)).join(', ');
const typedEmpty = (columns: readonly Column[]) => `(SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${ident(c.name)}`).join(', ')} LIMIT 0)`;
const keyMatch = (keys: readonly string[], l: string, r: string) =>
  keys.map((k) => `${l}.${ident(k)} IS NOT DISTINCT FROM ${r}.${ident(k)}`).join(' AND ') || 'true';
/** A JSON `{"v": …}` text as a value of `type`. */
const fromJsonV = (json: string, type: string) => `CAST((${json})::JSON AS STRUCT(v ${type})).v`;

/**
 * Turn a StreamingContext's graph into a CompiledJob the Driver runs like any SQL job: a stream without state in
 * its lineage is one SQL query over its sources' batch tables (a stateless sink plan); every stateful step
 * (window, reduceByKeyAndWindow with an inverse, updateStateByKey, mapWithState) is a StatefulOperator whose rows
 * for the batch go to `state.<table>` tagged with the batch id, in the state transaction, so a replay re-emits
 * them and restarts continue from the checkpointed state.
 */
export async function compileDStreamJob(ssc: StreamingContext, engine: Engine, options: DStreamCompileOptions): Promise<CompiledJob> {
  if (ssc.outputs.length === 0)
    throw userError(
      `${options.file}: the job has no output`,
      'end a stream with print(), saveAsParquet(…), saveToDuckDB(…), saveToKafka(…) or foreachBatch(…)',
    );
  const sources: Source[] = [];
  try {
    for (const s of ssc.sources) sources.push(await createSource(s.def, { kafkaLog: options.kafkaLog }));
    for (const source of sources) {
      const empty = new arrow.Table(batchSchema(source.schema!));
      await engine.exclusive((c) => createTableFromArrow(c, ident(source.name), empty, { temporary: true, replace: true }));
    }
    const compiler = new Compiler(engine, ssc);
    const sinks: CompiledSink[] = [];
    const sinkDefs: SinkDef[] = [];
    const descriptions: string[] = [];
    for (const out of ssc.outputs) {
      const node = await compiler.compile(out.node);
      const sink =
        out.target.kind === 'connector'
          ? createSink(
              out.name,
              { ...out.target.options },
              {
                jobDir: dirname(resolve(options.file)),
                stdout: options.stdout,
                kafkaLog: options.kafkaLog,
                job: basename(options.file, extname(options.file)),
              },
            )
          : out.target.create();
      if (sink instanceof PrintSink || sink instanceof ForeachBatchSink) sink.active = (b) => activeAt(node, b);
      if (sink instanceof PrintSink && options.stdout) sink.out = options.stdout;
      const query = `SELECT * FROM ${node.rel(0)} AS __ds_out`;
      const def: SinkDef = { name: out.name, options: out.target.kind === 'connector' ? out.target.options : {}, query, line: 0 };
      sinkDefs.push(def);
      descriptions.push(
        `${out.name}: ${out.target.kind === 'connector' ? JSON.stringify(out.target.options) : out.target.describe} <- ${compiler.describeNode(out.node)}`,
      );
      if (!node.stateful) {
        sinks.push({ def, sink, plan: { kind: 'stateless', source: [...node.sources][0]! }, sources: [...node.sources], mode: 'append' });
        continue;
      }
      const op = compiler.materialize(out.name, node);
      sinks.push({ def, sink: sink as Sink, plan: { kind: 'stateful', operator: op }, sources: [...node.sources], mode: 'append' });
    }
    const name = basename(options.file, extname(options.file));
    const sourceDefs = ssc.sources.map((s) => s.def);
    const def: JobDef = {
      name,
      file: options.file,
      sources: sourceDefs,
      tables: [],
      sinks: sinkDefs,
      setup: [],
      sourcesHash: hash(
        sourceDefs.map((s) => ({
          name: s.name,
          options: { connector: s.options['connector'] ?? 'log', path: s.options['path'], topic: s.options['topic'], brokers: s.options['brokers'] },
          columns: null,
        })),
      ),
      jobHash: hash({ sources: sourceDefs, interval: ssc.batchInterval, outputs: descriptions }),
    };
    return {
      def,
      sources,
      sinks,
      deadLetterDirs: new Map(sourceDefs.map((s) => [s.name, join(options.checkpointDir, 'dead_letter', s.name)])),
      eventTime: new Map(),
      watermarks: [],
      lateRowSinks: new Map(),
      operators: compiler.operators,
      metadataColumns: new Map(), // DStream jobs keep every column
      catalog: undefined,
      batchEveryInterval: true,
    };
  } catch (err) {
    await Promise.all(sources.map((s) => s.close().catch(() => undefined)));
    throw err;
  }
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** A stateful step: `run` does the batch's work through `exec`, inside the state transaction. */
class DStreamOperator implements StatefulOperator {
  readonly storesWholeRows = true; // DStream jobs keep every column
  readonly storesNamedColumnsOnly = false;
  readonly mode = 'append' as const;
  readonly keyColumns: readonly string[] = [];
  constructor(
    readonly sink: string,
    readonly streams: readonly string[],
    readonly stateTables: readonly string[],
    readonly outputTable: string,
    readonly description: string,
    private readonly run: (exec: Exec, batchId: number) => Promise<void>,
  ) {}

  process(exec: Exec, batchId: number): Promise<void> {
    return this.run(exec, batchId);
  }
}

class Compiler {
  readonly operators: StatefulOperator[] = [];
  private readonly done = new Map<GraphNode, CompiledNode>();
  private fnCount = 0;

  constructor(
    private readonly engine: Engine,
    private readonly ssc: StreamingContext,
  ) {}

  describeNode(node: GraphNode): string {
    const step = node.step;
    const parts = Object.entries(step).map(
      ([k, v]) =>
        `${k}=${typeof v === 'function' ? v.toString() : isSql(v) ? v.text : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'function' ? x.toString() : isSql(x) ? x.text : x))}`,
    );
    return `${node.id}:${parts.join(',')}(${node.inputs.map((i) => this.describeNode(i)).join(';')})`;
  }

  async compile(node: GraphNode): Promise<CompiledNode> {
    const known = this.done.get(node);
    if (known) return known;
    const inputs: CompiledNode[] = [];
    for (const i of node.inputs) inputs.push(await this.compile(i));
    let compiled: CompiledNode;
    try {
      compiled = await this.compileStep(node, node.step, inputs);
    } catch (err) {
      if (err instanceof DuckstreamError) throw err;
      throw userError(
        `DStream step ${node.step.kind} (#${node.id}): ${(err as Error).message}`,
        'fix the SQL of this step (the columns of its input are listed by DESCRIBE in the message above)',
        err,
      );
    }
    this.done.set(node, compiled);
    return compiled;
  }

  /** The sink's rows per batch, kept in state with the batch id (replays re-emit them). */
  materialize(sinkName: string, node: CompiledNode): StatefulOperator {
    const out = stateTable('out', `dstream_${sinkName}`);
    const op = new DStreamOperator(`dstream_${sinkName}`, [...node.sources], [], out, `output ${sinkName}`, async (exec, b) => {
      await exec(`CREATE TABLE IF NOT EXISTS ${out} AS SELECT *, 0::BIGINT AS __ds_batch FROM ${typedEmpty(node.columns)} AS __ds_e`);
      await exec(`DELETE FROM ${out} WHERE __ds_batch = ${b}`);
      if (activeAt(node, b)) await exec(`INSERT INTO ${out} SELECT *, ${b}::BIGINT FROM ${node.rel(b)} AS __ds_e`);
    });
    this.operators.push(op);
    return op;
  }

  private async describe(query: string): Promise<Column[]> {
    const rows = await this.engine.all(`DESCRIBE ${query}`);
    return rows.map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
  }

  private async fn(f: (...args: unknown[]) => unknown, arity: number, returns: 'json' | 'boolean' = 'json'): Promise<string> {
    const name = `__ds_fn_${this.fnCount++}`;
    await registerJsonFunction(this.engine, name, arity, f, returns);
    return name;
  }

  private slideOf(inputs: readonly CompiledNode[], what: string): number {
    const slides = new Set(inputs.map((i) => i.slide));
    if (slides.size > 1)
      throw userError(
        `${what}: the streams slide differently (every ${[...slides].map((s) => formatDuration(s * this.ssc.batchInterval)).join(' vs ')})`,
        'give both streams the same window slide before combining them',
      );
    return inputs[0]?.slide ?? 1;
  }

  private async stateless(inputs: readonly CompiledNode[], what: string, build: (rels: string[]) => string): Promise<CompiledNode> {
    const slide = this.slideOf(inputs, what);
    const columns = await this.describe(build(inputs.map((i) => i.rel(undefined))));
    return {
      columns,
      rel: (b) => `(${build(inputs.map((i) => i.rel(b)))})`,
      slide,
      sources: new Set(inputs.flatMap((i) => [...i.sources])),
      stateful: inputs.some((i) => i.stateful),
    };
  }

  private statefulNode(columns: readonly Column[], out: string, slide: number, inputs: readonly CompiledNode[]): CompiledNode {
    return {
      columns,
      rel: (b) => (b === undefined ? typedEmpty(columns) : `(SELECT * EXCLUDE (__ds_batch) FROM ${out} WHERE __ds_batch = ${b})`),
      slide,
      sources: new Set(inputs.flatMap((i) => [...i.sources])),
      stateful: true,
    };
  }

  private batches(ms: number, what: string): number {
    const n = ms / this.ssc.batchInterval;
    if (!Number.isInteger(n) || n < 1) {
      throw userError(
        `${what} ${formatDuration(ms)} is not a multiple of the batch interval ${formatDuration(this.ssc.batchInterval)}`,
        `use a multiple of ${formatDuration(this.ssc.batchInterval)} (e.g. seconds(${(Math.max(1, Math.round(n)) * this.ssc.batchInterval) / 1000})), or run with --trigger set to a divisor of it`,
      );
    }
    return n;
  }

  private checkKeys(keys: readonly string[], input: CompiledNode, what: string): string[] {
    const names = input.columns.map((c) => c.name);
    const missing = keys.filter((k) => !names.includes(k));
    if (missing.length > 0)
      throw userError(
        `${what}: no column ${missing.map((m) => `'${m}'`).join(', ')} (the stream has ${names.join(', ')})`,
        'name key columns the stream has, or map the stream first',
      );
    return names.filter((n) => !keys.includes(n));
  }

  private async compileStep(node: GraphNode, step: Step, inputs: CompiledNode[]): Promise<CompiledNode> {
    const [input] = inputs;
    switch (step.kind) {
      case 'source': {
        const list = step.columns.map((c) => ident(c.name)).join(', ');
        const columns = await this.describe(`SELECT ${list} FROM ${ident(step.source)}`);
        return { columns, rel: () => `(SELECT ${list} FROM ${ident(step.source)})`, slide: 1, sources: new Set([step.source]), stateful: false };
      }
      case 'select':
        return this.stateless(inputs, 'map', ([r]) => `SELECT ${step.list.text} FROM ${r} AS __ds_t`);
      case 'filter': {
        const pred = isSql(step.predicate)
          ? step.predicate.text
          : `${await this.fn(step.predicate as (...a: unknown[]) => unknown, 1, 'boolean')}(to_json(__ds_t))`;
        return this.stateless(inputs, 'filter', ([r]) => `SELECT * FROM ${r} AS __ds_t WHERE ${pred}`);
      }
      case 'mapFn': {
        const struct = structType(step.schema);
        const user = step.fn;
        if (!step.flat) {
          const f = await this.fn((row) => {
            const out = user(row as Row);
            return out === undefined ? null : out;
          }, 1);
          return this.stateless(inputs, 'map', ([r]) => `SELECT unnest(CAST(${f}(to_json(__ds_t))::JSON AS ${struct})) FROM ${r} AS __ds_t`);
        }
        const f = await this.fn((row) => [...((user(row as Row) as readonly unknown[] | undefined) ?? [])], 1);
        return this.stateless(
          inputs,
          'flatMap',
          ([r]) => `SELECT unnest(__ds_e) FROM (SELECT unnest(CAST(${f}(to_json(__ds_t))::JSON AS ${struct}[])) AS __ds_e FROM ${r} AS __ds_t) AS __ds_u`,
        );
      }
      case 'union': {
        const shape = (n: CompiledNode) => n.columns.map((c) => `${c.name} ${c.type}`).join(', ');
        const bad = inputs.find((i) => shape(i) !== shape(input!));
        if (bad) throw userError(`union: the streams have different columns (${shape(input!)} vs ${shape(bad)})`, 'map them to the same columns first');
        return this.stateless(inputs, 'union', (rels) => rels.map((r) => `SELECT * FROM ${r} AS __ds_t`).join(' UNION ALL '));
      }
      case 'count':
        return this.stateless(inputs, 'count', ([r]) => `SELECT count(*) AS count FROM ${r} AS __ds_t`);
      case 'countByValue':
        return this.stateless(inputs, 'countByValue', ([r]) => `SELECT *, count(*) AS count FROM ${r} AS __ds_t GROUP BY ALL`);
      case 'reduce': {
        const values = this.checkKeys(step.keys, input!, 'reduce');
        const agg = await this.aggregates(step.reducer, values, input!, 'reduce');
        const group = step.keys.length > 0 ? `GROUP BY ${cols(step.keys)}` : 'HAVING count(*) > 0';
        const keySel = step.keys.length > 0 ? `${cols(step.keys)}, ` : '';
        return this.stateless(inputs, 'reduce', ([r]) =>
          agg.kind === 'sql'
            ? `SELECT ${keySel}${agg.list} FROM ${r} AS __ds_t ${group}`
            : `SELECT ${keySel}unnest(__ds_r) FROM (SELECT ${keySel}${agg.struct} AS __ds_r FROM ${r} AS __ds_t ${group}) AS __ds_u`,
        );
      }
      case 'groupByKey': {
        const values = this.checkKeys(step.keys, input!, 'groupByKey');
        const list = values.length === 1 ? `list(${ident(values[0]!)}) AS ${ident(values[0]!)}` : `list(${structPack(values)}) AS vals`;
        return this.stateless(inputs, 'groupByKey', ([r]) => `SELECT ${cols(step.keys)}, ${list} FROM ${r} AS __ds_t GROUP BY ${cols(step.keys)}`);
      }
      case 'join': {
        const [left, right] = inputs as [CompiledNode, CompiledNode];
        const lv = this.checkKeys(step.keys, left, 'join (this stream)');
        const rv = this.checkKeys(step.keys, right, 'join (other stream)');
        const clash = lv.filter((v) => rv.includes(v));
        if (clash.length > 0)
          throw userError(
            `join: both streams have value column ${clash.map((c) => `'${c}'`).join(', ')}`,
            'rename one side with map(sql`…, x AS other_x`) first',
          );
        const keySel = step.keys
          .map((k) => (step.how === 'full' ? `coalesce(l.${ident(k)}, r.${ident(k)}) AS ${ident(k)}` : `${step.how === 'right' ? 'r' : 'l'}.${ident(k)}`))
          .join(', ');
        const kind = { inner: 'JOIN', left: 'LEFT JOIN', right: 'RIGHT JOIN', full: 'FULL OUTER JOIN' }[step.how];
        const on = step.keys.map((k) => `l.${ident(k)} = r.${ident(k)}`).join(' AND ');
        return this.stateless(
          inputs,
          'join',
          ([a, b]) => `SELECT ${[keySel, cols(lv, 'l.'), cols(rv, 'r.')].filter(Boolean).join(', ')} FROM ${a} AS l ${kind} ${b} AS r ON ${on}`,
        );
      }
      case 'cogroup': {
        const [left, right] = inputs as [CompiledNode, CompiledNode];
        const lv = this.checkKeys(step.keys, left, 'cogroup (this stream)');
        const rv = this.checkKeys(step.keys, right, 'cogroup (other stream)');
        const lname = lv.length === 1 ? lv[0]! : 'vals';
        const rname = rv.length === 1 ? rv[0]! : 'other_vals';
        if (lname === rname) throw userError(`cogroup: both streams' values are named '${lname}'`, 'rename one side with map first');
        const grouped = (r: string, values: string[], as: string) =>
          `(SELECT ${cols(step.keys)}, list(${values.length === 1 ? ident(values[0]!) : structPack(values)}) AS ${ident(as)} FROM ${r} AS __ds_t GROUP BY ${cols(step.keys)})`;
        const keySel = step.keys.map((k) => `coalesce(l.${ident(k)}, r.${ident(k)}) AS ${ident(k)}`).join(', ');
        return this.stateless(
          inputs,
          'cogroup',
          ([a, b]) =>
            `SELECT ${keySel}, coalesce(l.${ident(lname)}, []) AS ${ident(lname)}, coalesce(r.${ident(rname)}, []) AS ${ident(rname)} FROM ${grouped(a!, lv, lname)} AS l FULL OUTER JOIN ${grouped(b!, rv, rname)} AS r ON ${keyMatch(step.keys, 'l', 'r')}`,
        );
      }
      case 'transform':
        return this.stateless(inputs, 'transform', (rels) => step.fn(...rels.map((r) => Sql.raw(r))).text);
      case 'transformRows': {
        const user = step.fn;
        const f = await this.fn((rows) => user((rows as Row[] | undefined) ?? []), 1);
        const struct = structType(step.schema);
        return this.stateless(
          inputs,
          'transformRows',
          ([r]) => `SELECT unnest(__ds_e) FROM (SELECT unnest(CAST(${f}(to_json(list(__ds_t)))::JSON AS ${struct}[])) AS __ds_e FROM ${r} AS __ds_t) AS __ds_u`,
        );
      }
      case 'window':
        return this.window(node, step.lengthMs, step.slideMs, input!);
      case 'reduceWindowInv':
        return this.reduceWindowInv(node, step, input!);
      case 'updateState':
        return this.updateState(node, step, input!);
      case 'mapWithState':
        return this.mapWithState(node, step, input!);
      case 'stateSnapshots': {
        const source = node.inputs[0]!;
        const snap = stateTable('snap', `n${source.id}`);
        const mws = this.snapshots.get(source);
        if (!mws) throw userError('stateSnapshots() applies to the result of mapWithState');
        return this.statefulNode(mws, snap, input!.slide, [input!]);
      }
    }
  }

  private readonly snapshots = new Map<GraphNode, Column[]>();

  /** Aggregates that reduce each value column: SQL ones cast back to the column's type, or one JS fold. */
  private async aggregates(
    reducer: Reducer,
    values: readonly string[],
    input: CompiledNode,
    what: string,
  ): Promise<{ kind: 'sql'; list: string; perColumn: Map<string, string> } | { kind: 'js'; struct: string }> {
    if (values.length === 0) throw userError(`${what}: the stream has no value columns to reduce`, 'map it to key and value columns first');
    const typeOf = (c: string) => input.columns.find((x) => x.name === c)!.type;
    if (typeof reducer === 'function') {
      const user = reducer as (a: unknown, b: unknown) => unknown;
      const single = values.length === 1 ? values[0]! : undefined;
      const f = await this.fn((rows) => {
        const vs = ((rows as Row[] | undefined) ?? []).map((r) => (single !== undefined ? r[single] : Object.fromEntries(values.map((v) => [v, r[v]]))));
        if (vs.length === 0) return null;
        const out = vs.reduce((a, b) => user(a, b));
        return single !== undefined ? { [single]: out } : out;
      }, 1);
      return { kind: 'js', struct: `CAST(${f}(to_json(list(__ds_t)))::JSON AS STRUCT(${values.map((v) => `${ident(v)} ${typeOf(v)}`).join(', ')}))` };
    }
    let per: Record<string, Sql>;
    if (isSql(reducer)) {
      if (values.length > 1)
        throw userError(
          `${what}: one aggregate for ${values.length} value columns (${values.join(', ')})`,
          `give one per column: { ${values.map((v) => `${v}: sql\`sum(${v})\``).join(', ')} }`,
        );
      per = { [values[0]!]: reducer };
    } else per = reducer as Record<string, Sql>;
    const missing = values.filter((v) => per[v] === undefined);
    if (missing.length > 0)
      throw userError(
        `${what}: no aggregate for value column ${missing.join(', ')}`,
        'give one aggregate per value column, or map the stream to the columns you reduce',
      );
    const perColumn = new Map(values.map((v) => [v, `CAST(${per[v]!.text} AS ${typeOf(v)})`]));
    return { kind: 'sql', list: values.map((v) => `${perColumn.get(v)} AS ${ident(v)}`).join(', '), perColumn };
  }

  private window(node: GraphNode, lengthMs: number, slideMs: number, input: CompiledNode): CompiledNode {
    const k = this.batches(lengthMs, 'window length');
    const s = this.batches(slideMs, 'window slide');
    if (s % input.slide !== 0)
      throw userError(
        `window slide ${formatDuration(slideMs)} is not a multiple of the input's slide ${formatDuration(input.slide * this.ssc.batchInterval)}`,
        'use a multiple of the slide of the windowed stream',
      );
    const name = `n${node.id}`;
    const win = stateTable('win', name);
    const out = stateTable('out', name);
    const result = this.statefulNode(input.columns, out, s, [input]);
    this.operators.push(
      new DStreamOperator(name, [...input.sources], [win], out, `window(${formatDuration(lengthMs)}, ${formatDuration(slideMs)})`, async (exec, b) => {
        await exec(`CREATE TABLE IF NOT EXISTS ${win} AS SELECT 0::BIGINT AS __ds_b, * FROM ${typedEmpty(input.columns)} AS __ds_e`);
        await exec(`CREATE TABLE IF NOT EXISTS ${out} AS SELECT *, 0::BIGINT AS __ds_batch FROM ${typedEmpty(input.columns)} AS __ds_e`);
        await exec(`INSERT INTO ${win} SELECT ${b}::BIGINT, * FROM ${relAt(input, b)} AS __ds_e`);
        await exec(`DELETE FROM ${win} WHERE __ds_b <= ${b - k}`);
        await exec(`DELETE FROM ${out} WHERE __ds_batch = ${b}`);
        if ((b + 1) % s === 0) await exec(`INSERT INTO ${out} SELECT * EXCLUDE (__ds_b), ${b}::BIGINT FROM ${win}`);
      }),
    );
    return result;
  }

  private async reduceWindowInv(node: GraphNode, step: Extract<Step, { kind: 'reduceWindowInv' }>, input: CompiledNode): Promise<CompiledNode> {
    const k = this.batches(step.lengthMs, 'window length');
    const s = this.batches(step.slideMs, 'window slide');
    if (input.slide !== 1)
      throw userError('reduceByKeyAndWindow with an inverse function needs a stream that is not windowed already', 'apply it to the un-windowed stream');
    const keys = step.keys;
    const values = this.checkKeys(keys, input, 'reduceByKeyAndWindow');
    if (values.length !== 1)
      throw userError(
        `reduceByKeyAndWindow with an inverse function needs exactly one value column (the stream has ${values.join(', ') || 'none'})`,
        'map the stream to key columns and one value column',
      );
    const v = values[0]!;
    const type = input.columns.find((c) => c.name === v)!.type;
    const agg = await this.aggregates(step.reducer, values, input, 'reduceByKeyAndWindow');
    const inverse = await this.binary(step.inverse, type);
    const filter =
      step.filter === undefined
        ? 'true'
        : isSql(step.filter)
          ? step.filter.text
          : `${await this.fn(step.filter as (...a: unknown[]) => unknown, 1, 'boolean')}(to_json(__ds_t))`;
    const reduced = (rel: string) =>
      agg.kind === 'sql'
        ? `SELECT ${cols(keys)}, ${agg.list} FROM ${rel} AS __ds_t GROUP BY ${cols(keys)}`
        : `SELECT ${cols(keys)}, unnest(__ds_r) FROM (SELECT ${cols(keys)}, ${agg.struct} AS __ds_r FROM ${rel} AS __ds_t GROUP BY ${cols(keys)}) AS __ds_u`;
    const columns = await this.describe(reduced(input.rel(undefined)));
    const name = `n${node.id}`;
    const parts = stateTable('parts', name);
    const acc = stateTable('acc', name);
    const out = stateTable('out', name);
    this.operators.push(
      new DStreamOperator(
        name,
        [...input.sources],
        [parts, acc],
        out,
        `reduceByKeyAndWindow(${formatDuration(step.lengthMs)}, ${formatDuration(step.slideMs)}, inverse)`,
        async (exec, b) => {
          await exec(`CREATE TABLE IF NOT EXISTS ${parts} AS SELECT 0::BIGINT AS __ds_b, * FROM ${typedEmpty(columns)} AS __ds_e`);
          await exec(`CREATE TABLE IF NOT EXISTS ${acc} AS SELECT * FROM ${typedEmpty(columns)} AS __ds_e`);
          await exec(`CREATE TABLE IF NOT EXISTS ${out} AS SELECT *, 0::BIGINT AS __ds_batch FROM ${typedEmpty(columns)} AS __ds_e`);
          await exec(`INSERT INTO ${parts} SELECT ${b}::BIGINT, * FROM (${reduced(relAt(input, b))}) AS __ds_e`);
          await exec(`DELETE FROM ${out} WHERE __ds_batch = ${b}`);
          if ((b + 1) % s !== 0) return;
          // Spark's ReducedWindowedDStream: new window = previous window ⊕ batches (b−s, b] ⊖ batches (b−s−k, b−k].
          const added = reduced(
            `(SELECT ${cols(keys)}, ${ident(v)} FROM ${acc} UNION ALL SELECT ${cols(keys)}, ${ident(v)} FROM ${parts} WHERE __ds_b > ${b - s})`,
          );
          const removed = reduced(`(SELECT ${cols(keys)}, ${ident(v)} FROM ${parts} WHERE __ds_b > ${b - s - k} AND __ds_b <= ${b - k})`);
          await exec(
            `CREATE OR REPLACE TEMP TABLE __ds_window AS SELECT ${cols(keys, 'a.')}, CASE WHEN r.__ds_hit THEN ${inverse(`a.${ident(v)}`, `r.${ident(v)}`)} ELSE a.${ident(v)} END AS ${ident(v)} ` +
              `FROM (${added}) AS a LEFT JOIN (SELECT *, true AS __ds_hit FROM (${removed}) AS __ds_x) AS r ON ${keyMatch(keys, 'a', 'r')}`,
          );
          await exec(`DELETE FROM ${acc}`);
          await exec(`INSERT INTO ${acc} SELECT * FROM __ds_window`);
          await exec(`DELETE FROM ${parts} WHERE __ds_b <= ${b - k}`);
          await exec(`INSERT INTO ${out} SELECT *, ${b}::BIGINT FROM __ds_window AS __ds_t WHERE ${filter}`);
        },
      ),
    );
    return this.statefulNode(columns, out, s, [input]);
  }

  /** A binary function over two values of `type` as SQL: a macro from `` sql`a - b` ``, or a JS function. */
  private async binary(f: InverseReducer, type: string): Promise<(a: string, b: string) => string> {
    if (isSql(f)) {
      const name = `__ds_fn_${this.fnCount++}`;
      await this.engine.run(`CREATE OR REPLACE TEMP MACRO ${name}(a, b) AS (${f.text})`);
      return (a, b) => `CAST(${name}(${a}, ${b}) AS ${type})`;
    }
    const user = f as (a: unknown, b: unknown) => unknown;
    const name = await this.fn((a, b) => ({ v: user((a as { v: unknown }).v, (b as { v: unknown }).v) }), 2);
    return (a, b) => fromJsonV(`${name}(to_json({v: ${a}}), to_json({v: ${b}}))`, type);
  }

  private async updateState(node: GraphNode, step: Extract<Step, { kind: 'updateState' }>, input: CompiledNode): Promise<CompiledNode> {
    const keys = step.keys;
    const values = this.checkKeys(keys, input, 'updateStateByKey');
    if (keys.includes(step.as)) throw userError(`updateStateByKey: the state column '${step.as}' is also a key`, "name it with { as: '…' }");
    const valueExpr = values.length === 0 ? ident(keys[0]!) : values.length === 1 ? ident(values[0]!) : structPack(values);
    const joined = (rel: string, st: string) =>
      `SELECT ${keys.map((k) => `coalesce(n.${ident(k)}, s.${ident(k)}) AS ${ident(k)}`).join(', ')}, coalesce(n.vals, []) AS vals, s.${ident(step.as)} AS state ` +
      `FROM (SELECT ${cols(keys)}, list(${valueExpr} ORDER BY __ds_rn) AS vals FROM (SELECT *, row_number() OVER () AS __ds_rn FROM ${rel} AS __ds_r) AS __ds_t GROUP BY ${cols(keys)}) AS n ` +
      `FULL OUTER JOIN ${st} AS s ON ${keyMatch(keys, 'n', 's')}`;
    let expr: string;
    let stateType = step.stateType;
    if (isSql(step.update)) expr = `(${step.update.text})`;
    else {
      const user = step.update;
      const f = await this.fn((vals, state) => {
        const next = user((vals as unknown[] | undefined) ?? [], (state as { v: unknown } | undefined)?.v ?? undefined);
        return next === undefined || next === null ? null : { v: next };
      }, 2);
      stateType ??= 'JSON';
      expr = fromJsonV(`${f}(to_json(vals), to_json({v: state}))`, stateType);
    }
    const keyCols = input.columns.filter((c) => keys.includes(c.name));
    const stCols = (t: string | undefined) =>
      `(SELECT ${keyCols.map((c) => `CAST(NULL AS ${c.type}) AS ${ident(c.name)}`).join(', ')}, ${t ? `CAST(NULL AS ${t})` : 'NULL'} AS ${ident(step.as)} LIMIT 0)`;
    const query = (rel: string, st: string, t: string | undefined) =>
      `SELECT ${cols(keys)}, ${t ? `CAST(${expr} AS ${t})` : expr} AS ${ident(step.as)} FROM (${joined(rel, st)}) AS __ds_t`;
    if (stateType === undefined) {
      // The state's type is the update expression's, found by binding it until the type of `state` is stable.
      let t: string | undefined;
      for (let i = 0; i < 4; i++) {
        const next = (await this.describe(query(input.rel(undefined), stCols(t), undefined))).find((c) => c.name === step.as)!.type;
        if (next === t) break;
        t = next;
      }
      stateType = t!;
    }
    const columns = await this.describe(query(input.rel(undefined), stCols(stateType), stateType));
    const name = `n${node.id}`;
    const st = stateTable('ustate', name);
    const out = stateTable('out', name);
    this.operators.push(
      new DStreamOperator(name, [...input.sources], [st], out, `updateStateByKey(${keys.join(', ')})`, async (exec, b) => {
        await exec(`CREATE TABLE IF NOT EXISTS ${st} AS SELECT * FROM ${typedEmpty(columns)} AS __ds_e`);
        await exec(`CREATE TABLE IF NOT EXISTS ${out} AS SELECT *, 0::BIGINT AS __ds_batch FROM ${typedEmpty(columns)} AS __ds_e`);
        await exec(`DELETE FROM ${out} WHERE __ds_batch = ${b}`);
        if (!activeAt(input, b)) return;
        await exec(`CREATE OR REPLACE TEMP TABLE __ds_update AS ${query(input.rel(b), st, stateType)}`);
        await exec(`DELETE FROM ${st}`);
        await exec(`INSERT INTO ${st} SELECT * FROM __ds_update WHERE ${ident(step.as)} IS NOT NULL`);
        await exec(`INSERT INTO ${out} SELECT *, ${b}::BIGINT FROM ${st}`);
      }),
    );
    return this.statefulNode(columns, out, input.slide, [input]);
  }

  private async mapWithState(node: GraphNode, step: Extract<Step, { kind: 'mapWithState' }>, input: CompiledNode): Promise<CompiledNode> {
    const keys = step.keys;
    const values = this.checkKeys(keys, input, 'mapWithState');
    const spec = step.spec;
    const timeout = spec.timeoutMs === undefined ? undefined : this.batches(spec.timeoutMs, 'StateSpec timeout');
    const stateType = spec.stateType ?? 'JSON';
    const outputType = spec.outputType ?? 'JSON';
    const keyCols = input.columns.filter((c) => keys.includes(c.name));
    const keyJson = keys.length === 1 ? ident(keys[0]!) : structPack(keys);
    const valueJson = values.length === 0 ? keyJson : values.length === 1 ? ident(values[0]!) : structPack(values);
    const user = spec.fn;
    const f = await this.fn((key, vals, state, timingOut) => {
      const timing = (timingOut as { v: boolean }).v;
      let s = (state as { v: unknown } | undefined)?.v;
      let exists = state !== undefined && s !== null && s !== undefined;
      const handle: StateHandle<unknown> = {
        exists: () => exists,
        get: () => {
          if (!exists) throw new Error('State.get(): the key has no state (check exists() or use getOption())');
          return s;
        },
        getOption: () => (exists ? s : undefined),
        update: (next) => {
          if (timing) throw new Error('State.update(): cannot update the state of a key that is timing out');
          s = next;
          exists = true;
        },
        remove: () => {
          exists = false;
          s = undefined;
        },
        isTimingOut: () => timing,
      };
      const k = (key as { v: unknown }).v;
      const out: unknown[] = [];
      if (timing) {
        const r = user(k, undefined, handle);
        if (r !== undefined) out.push({ v: r });
        exists = false;
      } else {
        for (const v of (vals as unknown[] | undefined) ?? []) {
          const r = user(k, v, handle);
          if (r !== undefined) out.push({ v: r });
        }
      }
      return { out, state: exists ? { v: s } : null, exists };
    }, 4);
    const name = `n${node.id}`;
    const st = stateTable('mstate', name);
    const out = stateTable('out', name);
    const snap = stateTable('snap', name);
    const stColumns: Column[] = [...keyCols, { name: '__ds_state', type: stateType }, { name: '__ds_last', type: 'BIGINT' }];
    const snapColumns: Column[] = [...keyCols, { name: 'state', type: stateType }];
    this.snapshots.set(node, snapColumns);
    const columns: Column[] = [{ name: 'value', type: outputType }];
    const initial = spec.initialState ?? [];
    const initialJson = JSON.stringify(
      initial.map((e) => ({ ...(keys.length === 1 ? { [keys[0]!]: e.key } : (e.key as object)), s: { v: e.state } })),
      (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x),
    );
    const initMarker = stateTable('minit', name);
    this.operators.push(
      new DStreamOperator(name, [...input.sources], [st], out, `mapWithState(${keys.join(', ')})`, async (exec, b) => {
        await exec(`CREATE TABLE IF NOT EXISTS ${st} AS SELECT * FROM ${typedEmpty(stColumns)} AS __ds_e`);
        await exec(`CREATE TABLE IF NOT EXISTS ${out} AS SELECT *, 0::BIGINT AS __ds_batch FROM ${typedEmpty(columns)} AS __ds_e`);
        await exec(`CREATE TABLE IF NOT EXISTS ${snap} AS SELECT *, 0::BIGINT AS __ds_batch FROM ${typedEmpty(snapColumns)} AS __ds_e`);
        await exec(`CREATE TABLE IF NOT EXISTS ${initMarker} (done BOOLEAN)`);
        if (initial.length > 0) {
          const struct = `STRUCT(${keyCols.map((c) => `${ident(c.name)} ${c.type}`).join(', ')}, s STRUCT(v ${stateType}))[]`;
          await exec(
            `INSERT INTO ${st} SELECT ${cols(keys, 'e.')}, e.s.v, ${b - 1}::BIGINT FROM (SELECT unnest(CAST(${literal(initialJson)}::JSON AS ${struct})) AS e) AS __ds_i WHERE NOT EXISTS (SELECT 1 FROM ${initMarker})`,
          );
        }
        await exec(`INSERT INTO ${initMarker} SELECT true WHERE NOT EXISTS (SELECT 1 FROM ${initMarker})`);
        await exec(`DELETE FROM ${out} WHERE __ds_batch = ${b}`);
        await exec(`DELETE FROM ${snap} WHERE __ds_batch = ${b}`);
        if (!activeAt(input, b)) return;
        const timingOut = timeout === undefined ? 'false' : `(n.vals IS NULL AND s.__ds_last <= ${b - timeout})`;
        await exec(
          `CREATE OR REPLACE TEMP TABLE __ds_mws AS SELECT ${keys.map((k) => `coalesce(n.${ident(k)}, s.${ident(k)}) AS ${ident(k)}`).join(', ')}, n.vals IS NOT NULL AS __ds_has, s.__ds_last, ` +
            `CAST(${f}(to_json({v: ${keys.map((k) => `coalesce(n.${ident(k)}, s.${ident(k)})`).length === 1 ? `coalesce(n.${ident(keys[0]!)}, s.${ident(keys[0]!)})` : `{${keys.map((k) => `${literal(k)}: coalesce(n.${ident(k)}, s.${ident(k)})`).join(', ')}}`}}), to_json(n.vals), CASE WHEN s.__ds_state IS NULL THEN NULL ELSE to_json({v: s.__ds_state}) END, to_json({v: ${timingOut}}))::JSON AS STRUCT(out STRUCT(v ${outputType})[], state STRUCT(v ${stateType}), "exists" BOOLEAN)) AS __ds_r ` +
            `FROM (SELECT ${cols(keys)}, list(${valueJson} ORDER BY __ds_rn) AS vals FROM (SELECT *, row_number() OVER () AS __ds_rn FROM ${input.rel(b)} AS __ds_r) AS __ds_t GROUP BY ${cols(keys)}) AS n ` +
            `FULL OUTER JOIN ${st} AS s ON ${keyMatch(keys, 'n', 's')} WHERE n.vals IS NOT NULL OR ${timingOut}`,
        );
        await exec(`INSERT INTO ${out} SELECT __ds_o.v, ${b}::BIGINT FROM (SELECT unnest(__ds_r.out) AS __ds_o FROM __ds_mws) AS __ds_u`);
        await exec(`DELETE FROM ${st} AS s WHERE EXISTS (SELECT 1 FROM __ds_mws AS m WHERE ${keyMatch(keys, 'm', 's')})`);
        await exec(
          `INSERT INTO ${st} SELECT ${cols(keys)}, __ds_r.state.v, CASE WHEN __ds_has THEN ${b}::BIGINT ELSE __ds_last END FROM __ds_mws WHERE __ds_r."exists"`,
        );
        await exec(`INSERT INTO ${snap} SELECT ${cols(keys)}, __ds_state, ${b}::BIGINT FROM ${st}`);
      }),
    );
    void keyJson;
    return this.statefulNode(columns, out, input.slide, [input]);
  }
}

function structPack(names: readonly string[]): string {
  return `{${names.map((n) => `${literal(n)}: ${ident(n)}`).join(', ')}}`;
}

/** `'word VARCHAR, n INTEGER'` or `{ word: 'VARCHAR' }` → `STRUCT("word" VARCHAR, "n" INTEGER)`. */
function structType(schema: Schema): string {
  const entries =
    typeof schema === 'string'
      ? schema.split(',').map((part) => {
          const m = /^\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s+(.+?)\s*$/.exec(part);
          if (!m) throw userError(`schema '${schema}': cannot read '${part.trim()}'`, "write 'name TYPE, name TYPE'");
          return [m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replaceAll('""', '"') : m[1]!, m[2]!] as const;
        })
      : Object.entries(schema);
  if (entries.length === 0) throw userError('a JS transform needs at least one output column');
  return `STRUCT(${entries.map(([n, t]) => `${ident(n)} ${t}`).join(', ')})`;
}
