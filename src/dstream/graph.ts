import type { Sink } from '../sink/sink.js';
import type { Row } from '../sql/engine.js';
import type { Sql } from './sql.js';

/** Column names that identify a key: one name or several. */
export type Keys = string | readonly string[];

/**
 * How values are combined (Spark's `(V, V) => V`):
 * - a SQL aggregate that is its own combiner (`` sql`sum(n)` ``, `max`, `min`, `bit_or`, …) when the stream has
 *   one value column, or one per value column (`{ n: sql`sum(n)`, last: sql`max(last)` }`);
 * - or a JS function `(a, b) => …` over values (the one value column's value, or an object of the value columns).
 */
export type Reducer<V = unknown> = Sql | Readonly<Record<string, Sql>> | ((a: V, b: V) => V);

/** A binary SQL expression over `a` and `b` (`` sql`a - b` ``), or a JS function: Spark's inverse reduce function. */
export type InverseReducer<V = unknown> = Sql | ((a: V, b: V) => V);

/** Output columns of a JS transform: `'word VARCHAR, n INTEGER'` or `{ word: 'VARCHAR', n: 'INTEGER' }`. */
export type Schema = string | Readonly<Record<string, string>>;

/** One step of the graph. Steps are plain data; `compile.ts` turns them into SQL and stateful operators. */
export type Step =
  | { readonly kind: 'source'; readonly source: string; readonly columns: readonly { name: string; type: string }[] }
  | { readonly kind: 'select'; readonly list: Sql; readonly where?: undefined }
  | { readonly kind: 'filter'; readonly predicate: Sql | ((row: Row) => boolean) }
  | { readonly kind: 'mapFn'; readonly fn: (row: Row) => unknown; readonly schema: Schema; readonly flat: boolean }
  | { readonly kind: 'union' }
  | { readonly kind: 'count' }
  | { readonly kind: 'countByValue' }
  | { readonly kind: 'reduce'; readonly keys: readonly string[]; readonly reducer: Reducer }
  | { readonly kind: 'groupByKey'; readonly keys: readonly string[] }
  | { readonly kind: 'join'; readonly keys: readonly string[]; readonly how: 'inner' | 'left' | 'right' | 'full' }
  | { readonly kind: 'cogroup'; readonly keys: readonly string[] }
  | { readonly kind: 'transform'; readonly fn: (...relations: Sql[]) => Sql }
  | { readonly kind: 'transformRows'; readonly fn: (rows: Row[]) => Row[]; readonly schema: Schema }
  | { readonly kind: 'window'; readonly lengthMs: number; readonly slideMs: number }
  | {
      readonly kind: 'reduceWindowInv';
      readonly keys: readonly string[];
      readonly reducer: Reducer;
      readonly inverse: InverseReducer;
      readonly filter: Sql | ((row: Row) => boolean) | undefined;
      readonly lengthMs: number;
      readonly slideMs: number;
    }
  | {
      readonly kind: 'updateState';
      readonly keys: readonly string[];
      readonly update: Sql | ((values: unknown[], state: unknown) => unknown);
      readonly stateType: string | undefined;
      readonly as: string;
    }
  | { readonly kind: 'mapWithState'; readonly keys: readonly string[]; readonly spec: StateSpecData }
  | { readonly kind: 'stateSnapshots' };

export interface StateSpecData {
  readonly fn: (key: unknown, value: unknown, state: StateHandle<unknown>) => unknown;
  readonly timeoutMs: number | undefined;
  readonly initialState: readonly { key: unknown; state: unknown }[] | undefined;
  readonly outputType: string | undefined;
  readonly stateType: string | undefined;
}

/** Spark's `State[S]` as seen by a mapWithState function. */
export interface StateHandle<S> {
  exists(): boolean;
  get(): S;
  getOption(): S | undefined;
  update(state: S): void;
  remove(): void;
  isTimingOut(): boolean;
}

export interface GraphNode {
  readonly id: number;
  readonly step: Step;
  readonly inputs: readonly GraphNode[];
}

/** Where a stream's batches go. */
export type OutputTarget =
  | { readonly kind: 'connector'; readonly options: Readonly<Record<string, string>> }
  | { readonly kind: 'custom'; readonly create: () => Sink; readonly describe: string };

export interface OutputDef {
  readonly name: string;
  readonly node: GraphNode;
  readonly target: OutputTarget;
}
