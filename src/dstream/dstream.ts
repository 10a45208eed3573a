import type { Row } from '../sql/engine.js';
import type { Duration } from '../util/duration.js';
import type { GraphNode, InverseReducer, Keys, OutputTarget, Reducer, Schema, StateHandle, StateSpecData, Step } from './graph.js';
import { isSql, type Sql } from './sql.js';
import { PrintSink, ForeachBatchSink, type BatchInfo } from './output-sinks.js';

/** What a DStream needs from its StreamingContext (kept narrow so the two files do not import each other). */
export interface GraphBuilder {
  readonly batchInterval: Duration;
  addNode(step: Step, inputs: readonly GraphNode[]): GraphNode;
  addOutput(prefix: string, node: GraphNode, target: OutputTarget, name?: string): void;
}

const keyList = (keys: Keys): readonly string[] => (typeof keys === 'string' ? [keys] : keys);

/**
 * A discretized stream (Spark Streaming's DStream): one relation per batch. Every transform runs in DuckDB —
 * SQL given with the `sql` tag runs as is (fast path); a JS function runs as a DuckDB scalar function over the
 * rows' JSON (slow path). Both forms give the same rows.
 */
export class DStream<R extends Row = Row> {
  /** @internal */
  constructor(
    protected readonly graph: GraphBuilder,
    /** @internal */ readonly node: GraphNode,
  ) {}

  private derive<T extends Row = Row>(step: Step, ...others: DStream<Row>[]): DStream<T> {
    return new DStream<T>(this.graph, this.graph.addNode(step, [this.node, ...others.map((o) => o.node)]));
  }

  // ── stateless, per batch ─────────────────────────────────────────────

  /** Each row to one row: a select list (`` sql`word, 1 AS n` ``), or a JS function with its output columns. */
  map<T extends Row = Row>(selectList: Sql): DStream<T>;
  map<T extends Row>(fn: (row: R) => T, schema: Schema): DStream<T>;
  map<T extends Row>(f: Sql | ((row: R) => T), schema?: Schema): DStream<T> {
    if (isSql(f)) return this.derive({ kind: 'select', list: f });
    return this.derive({ kind: 'mapFn', fn: f as (row: Row) => unknown, schema: requireSchema('map', schema), flat: false });
  }

  /** Each row to zero or more rows: a select list with `unnest(…)`, or a JS function returning an array. */
  flatMap<T extends Row = Row>(selectList: Sql): DStream<T>;
  flatMap<T extends Row>(fn: (row: R) => readonly T[], schema: Schema): DStream<T>;
  flatMap<T extends Row>(f: Sql | ((row: R) => readonly T[]), schema?: Schema): DStream<T> {
    if (isSql(f)) return this.derive({ kind: 'select', list: f });
    return this.derive({ kind: 'mapFn', fn: f as (row: Row) => unknown, schema: requireSchema('flatMap', schema), flat: true });
  }

  /** Rows for which the predicate holds (a SQL condition or a JS function). */
  filter(predicate: Sql | ((row: R) => boolean)): DStream<R> {
    return this.derive({ kind: 'filter', predicate: predicate as Sql | ((row: Row) => boolean) });
  }

  /** The rows of this stream and the others (same columns, same slide). */
  union(...others: DStream<R>[]): DStream<R> {
    return others.length === 0 ? this : this.derive({ kind: 'union' }, ...(others as DStream<Row>[]));
  }

  /** Spark's repartition: DuckDB parallelises each batch itself, so the rows are unchanged. */
  repartition(_numPartitions: number): DStream<R> {
    return this;
  }

  /** One row `{ count }` per batch (0 for an empty batch). */
  count(): DStream<{ count: bigint }> {
    return this.derive({ kind: 'count' });
  }

  /** Each distinct row with how often it occurs in the batch (`count` column). */
  countByValue(): DStream<R & { count: bigint }> {
    return this.derive({ kind: 'countByValue' });
  }

  /** One row per batch: all rows reduced (nothing for an empty batch). */
  reduce(reducer: Reducer): DStream<R> {
    return this.derive({ kind: 'reduce', keys: [], reducer });
  }

  /** Per key, the values reduced (`` sql`sum(n)` `` or `(a, b) => a + b`). */
  reduceByKey(keys: Keys, reducer: Reducer): DStream<R> {
    return this.derive({ kind: 'reduce', keys: keyList(keys), reducer });
  }

  /** Per key, the list of values (a LIST column named after the value column, or `vals` for several). */
  groupByKey(keys: Keys): DStream<Row> {
    return this.derive({ kind: 'groupByKey', keys: keyList(keys) });
  }

  /** Rows of both streams with equal keys, in the same batch: key columns, then this stream's values, then the other's. */
  join<T extends Row>(other: DStream<T>, keys: Keys): DStream<R & T> {
    return this.derive({ kind: 'join', keys: keyList(keys), how: 'inner' }, other as DStream<Row>);
  }

  leftOuterJoin<T extends Row>(other: DStream<T>, keys: Keys): DStream<R & Partial<T>> {
    return this.derive({ kind: 'join', keys: keyList(keys), how: 'left' }, other as DStream<Row>);
  }

  rightOuterJoin<T extends Row>(other: DStream<T>, keys: Keys): DStream<Partial<R> & T> {
    return this.derive({ kind: 'join', keys: keyList(keys), how: 'right' }, other as DStream<Row>);
  }

  fullOuterJoin<T extends Row>(other: DStream<T>, keys: Keys): DStream<Partial<R> & Partial<T>> {
    return this.derive({ kind: 'join', keys: keyList(keys), how: 'full' }, other as DStream<Row>);
  }

  /** Per key, the lists of values of both streams in this batch (empty lists where a side has none). */
  cogroup<T extends Row>(other: DStream<T>, keys: Keys): DStream<Row> {
    return this.derive({ kind: 'cogroup', keys: keyList(keys) }, other as DStream<Row>);
  }

  /** Arbitrary per-batch SQL: `s.transform((batch) => sql`SELECT … FROM ${batch} …`)`. */
  transform<T extends Row = Row>(fn: (batch: Sql) => Sql): DStream<T> {
    return this.derive({ kind: 'transform', fn: fn as (...r: Sql[]) => Sql });
  }

  /** Arbitrary per-batch JS over all of the batch's rows (slow path), with the output columns. */
  transformRows<T extends Row>(fn: (rows: R[]) => T[], schema: Schema): DStream<T> {
    return this.derive({ kind: 'transformRows', fn: fn as unknown as (rows: Row[]) => Row[], schema });
  }

  /** Per-batch SQL over this stream's and another's batch. */
  transformWith<T extends Row, U extends Row = Row>(other: DStream<T>, fn: (batch: Sql, otherBatch: Sql) => Sql): DStream<U> {
    return this.derive({ kind: 'transform', fn: fn as (...r: Sql[]) => Sql }, other as DStream<Row>);
  }

  // ── windows (processing time: multiples of the batch interval) ──────

  /** Every `slide`, the rows of the last `length` of batches (slide defaults to the batch interval). */
  window(length: Duration, slide: Duration = this.graph.batchInterval): DStream<R> {
    return this.derive({ kind: 'window', lengthMs: length, slideMs: slide });
  }

  countByWindow(length: Duration, slide: Duration = this.graph.batchInterval): DStream<{ count: bigint }> {
    return this.window(length, slide).count();
  }

  reduceByWindow(reducer: Reducer, length: Duration, slide: Duration = this.graph.batchInterval): DStream<R> {
    return this.window(length, slide).reduce(reducer);
  }

  countByValueAndWindow(length: Duration, slide: Duration = this.graph.batchInterval): DStream<R & { count: bigint }> {
    return this.window(length, slide).countByValue();
  }

  groupByKeyAndWindow(keys: Keys, length: Duration, slide: Duration = this.graph.batchInterval): DStream<Row> {
    return this.window(length, slide).groupByKey(keys);
  }

  /**
   * Per key, the values of the window reduced. With `inverse`, each slide adds the new batches and subtracts the
   * expired ones from the previous window's result (keys stay, e.g. with 0, unless `filter` drops them), as Spark's.
   */
  reduceByKeyAndWindow(
    keys: Keys,
    reducer: Reducer,
    length: Duration,
    slide: Duration = this.graph.batchInterval,
    options: { inverse?: InverseReducer; filter?: Sql | ((row: R) => boolean) } = {},
  ): DStream<R> {
    if (options.inverse === undefined) return this.reduceByKey(keys, reducer).window(length, slide).reduceByKey(keys, reducer);
    return this.derive({
      kind: 'reduceWindowInv',
      keys: keyList(keys),
      reducer,
      inverse: options.inverse,
      filter: options.filter as Sql | ((row: Row) => boolean) | undefined,
      lengthMs: length,
      slideMs: slide,
    });
  }

  // ── state across batches (checkpointed in state.duckdb) ───────────────

  /**
   * Spark's updateStateByKey: every batch, for every key with new values or state, the new state from `vals`
   * (the key's values in this batch, a LIST) and `state` (NULL when none). NULL/undefined removes the key.
   * Emits every (key, state) each batch. SQL: `` sql`coalesce(state, 0) + list_sum(vals)` ``; JS:
   * `(vals, state) => (state ?? 0) + sum(vals)`.
   */
  updateStateByKey(keys: Keys, update: Sql | ((vals: unknown[], state: unknown) => unknown), options: { stateType?: string; as?: string } = {}): DStream<Row> {
    return this.derive({ kind: 'updateState', keys: keyList(keys), update, stateType: options.stateType, as: options.as ?? 'state' });
  }

  /** Spark's mapWithState: the spec's function runs for each row with its key's state; emits what it returns. */
  mapWithState<S, T>(keys: Keys, spec: StateSpec<S, T>): MapWithStateDStream {
    const node = this.graph.addNode({ kind: 'mapWithState', keys: keyList(keys), spec: spec.data }, [this.node]);
    return new MapWithStateDStream(this.graph, node);
  }

  // ── outputs ──────────────────────────────────────────────────────────

  /** Print the first `num` rows of every batch (Spark's format: a `Time: … ms` header). At-least-once. */
  print(num = 10): void {
    this.graph.addOutput('print', this.node, { kind: 'custom', create: () => new PrintSink(`print`, num), describe: `print(${num})` });
  }

  /** Call `fn` with each batch's rows. At-least-once: a replayed batch is passed again (use `info.batchId` to dedupe). */
  foreachBatch(fn: (rows: Row[], info: BatchInfo) => void | Promise<void>, name?: string): void {
    this.graph.addOutput(
      'foreach',
      this.node,
      { kind: 'custom', create: () => new ForeachBatchSink(name ?? 'foreach', fn), describe: `foreachBatch(${fn.toString()})` },
      name,
    );
  }

  /** Exactly-once Parquet files, one per batch (`part-<batch>.parquet`). */
  saveAsParquet(path: string, options: { name?: string; compression?: string } = {}): void {
    this.graph.addOutput(
      'parquet',
      this.node,
      { kind: 'connector', options: { connector: 'parquet', path, ...(options.compression ? { compression: options.compression } : {}) } },
      options.name,
    );
  }

  /** Exactly-once JSON lines, one file per batch. */
  saveAsJsonl(path: string, options: { name?: string } = {}): void {
    this.graph.addOutput('jsonl', this.node, { kind: 'connector', options: { connector: 'jsonl', path } }, options.name);
  }

  /** Exactly-once rows in a DuckDB table (rows and the sink's batch id in one transaction). */
  saveToDuckDB(path: string, table: string, options: { name?: string } = {}): void {
    this.graph.addOutput('duckdb', this.node, { kind: 'connector', options: { connector: 'duckdb', path, table } }, options.name);
  }

  /** To a Kafka topic: the Kafka sink's options (`brokers`, `topic`, `format`, `key`, `delivery`, …; see the README). */
  saveToKafka(options: Readonly<Record<string, string>> & { brokers: string; topic: string; name?: string }): void {
    const { name, ...rest } = options;
    this.graph.addOutput('kafka', this.node, { kind: 'connector', options: { connector: 'kafka', ...rest } }, name);
  }
}

/** The output of mapWithState: the mapped rows, and `stateSnapshots()` for every key's state each batch. */
export class MapWithStateDStream extends DStream<Row> {
  stateSnapshots(): DStream<Row> {
    return new DStream(this.graph, this.graph.addNode({ kind: 'stateSnapshots' }, [this.node]));
  }
}

/**
 * Spark's StateSpec: `StateSpec.function((key, value, state) => …).timeout(seconds(30)).initialState([...])`.
 * `value` is the row's value (its one value column, or an object of them), undefined when the key times out.
 */
export class StateSpec<S = unknown, T = unknown> {
  private constructor(readonly data: StateSpecData) {}

  static function<S, T>(fn: (key: unknown, value: unknown, state: StateHandle<S>) => T): StateSpec<S, T> {
    return new StateSpec<S, T>({ fn: fn as StateSpecData['fn'], timeoutMs: undefined, initialState: undefined, outputType: undefined, stateType: undefined });
  }

  /** Keys without data for this long are called once more with `state.isTimingOut()` true, then dropped. */
  timeout(idle: Duration): StateSpec<S, T> {
    return new StateSpec({ ...this.data, timeoutMs: idle });
  }

  /** State to start from: `[{ key: 'a', state: 1 }, …]` (a key of several columns is an object of them). */
  initialState(entries: readonly { key: unknown; state: S }[]): StateSpec<S, T> {
    return new StateSpec({ ...this.data, initialState: entries });
  }

  /** DuckDB types of the mapped value and of the state (default JSON). */
  types(t: { output?: string; state?: string }): StateSpec<S, T> {
    return new StateSpec({ ...this.data, outputType: t.output ?? this.data.outputType, stateType: t.state ?? this.data.stateType });
  }
}

function requireSchema(op: string, schema: Schema | undefined): Schema {
  if (schema === undefined) throw new TypeError(`${op}(fn, schema): a JS function needs its output columns, e.g. ${op}(fn, 'word VARCHAR, n INTEGER')`);
  return schema;
}
