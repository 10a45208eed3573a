import type { QueryAnalysis } from '../job/analyze-query.js';
import type { Engine } from '../sql/engine.js';
import type { TreeNode } from '../sql/parse-tree.js';
import type { IntervalJoinSpec } from './interval-join-operator.js';
import type { OutputMode, StatefulOperator } from './operator.js';
import type { StreamRef } from './stream-refs.js';
import type { WindowTvf } from './window-tvf.js';

/*
 * The types stateful planning shares: what a planner is given (PlanContext) and what planning returns (SinkPlan).
 * A leaf of src/stateful/: it imports only types, so the checker, the planners and the operators can all read it.
 */

/** What planning needs to know about one of the job's sources. */
export interface SourceTimeInfo {
  readonly name: string;
  /** Event-time SQL expression; undefined when the source has no event_time. */
  readonly eventTimeSql: string | undefined;
  /** The source's watermark delay (ms). */
  readonly delayMs: number;
  /** The declared value columns (`schema = '…'`), undefined when inferred from the data. */
  readonly schema?: string | undefined;
}

/** The sink as planning sees it. */
export interface SinkSpec {
  readonly name: string;
  readonly query: string;
  readonly outputMode: OutputMode | undefined;
  readonly key: readonly string[] | undefined;
}

export type SinkPlan =
  | { readonly kind: 'stateless'; readonly source: string }
  /** `fingerprint`: what its state means, checked against the stored one at start (SQL jobs; DStream graphs have their own check). */
  | { readonly kind: 'stateful'; readonly operator: StatefulOperator; readonly fingerprint?: StateFingerprint };

/** An interval join's bounds; why the query has none (it may still run as a regular join); or why its bound cannot work. */
export type IntervalJoinMatch =
  | { readonly kind: 'bounded'; readonly spec: IntervalJoinSpec }
  | { readonly kind: 'unbounded'; readonly why: string }
  | { readonly kind: 'refused'; readonly why: string; readonly fix: string };

/** One sink's query, parsed, with the facts the checker and the planners share (computed once, on first use). */
export interface PlanContext {
  readonly engine: Engine;
  readonly sink: SinkSpec;
  readonly analysis: QueryAnalysis;
  readonly sources: readonly SourceTimeInfo[];
  /** The sources by lower-cased name. */
  readonly byName: ReadonlyMap<string, SourceTimeInfo>;
  /** The sources' names, lower-cased. */
  readonly streamNames: ReadonlySet<string>;
  /** The query's SELECT node. */
  readonly tree: TreeNode;
  /** The window TVFs of the query, arguments evaluated. */
  readonly tvfs: readonly WindowTvf[];
  /** The streams the query reads by name (not through a TVF), lower-cased, once per reference. */
  readonly directRefs: readonly string[];
  /** Whether every stateful part of the query is a DISTINCT (also true for a stateless query). */
  readonly onlyDistinct: boolean;
  /** The output mode of an aggregation: the sink's, else 'append' for a query whose only stateful part is DISTINCT. */
  readonly aggregateMode: OutputMode | undefined;
  /** The columns identifying a result row: the sink's `key`, else the top SELECT's plain GROUP BY columns. */
  readonly keys: readonly string[];
  /** A user error naming the sink: what is wrong and what to do. */
  refuse(why: string, fix: string): Error;
  /** DuckDB's aggregate function names. */
  aggregates(): Promise<ReadonlySet<string>>;
  /** The interval join the query is, if it is one (for queries over two stream references). */
  intervalJoin(): Promise<IntervalJoinMatch>;
  /** The query with every stream reference replaced by a placeholder (see streamRefs). */
  streamRefs(): Promise<{ readonly sql: string; readonly refs: readonly StreamRef[] }>;
}

/** A strategy for one shape of query: its operator, or undefined when the query is not that shape. */
export type Planner = (ctx: PlanContext) => Promise<StatefulOperator | undefined>;

/** One window TVF as its state depends on it. */
export interface WindowFingerprint {
  readonly kind: string;
  readonly source: string;
  readonly time: string;
  /** Window size (TUMBLE, HOP) or gap (SESSION), in ms. */
  readonly sizeMs: number;
  /** HOP slide in ms (equal to the size for TUMBLE). */
  readonly slideMs: number;
  readonly keys: readonly string[];
}

export interface StateFingerprint {
  readonly version: 1;
  /** The operator, as status shows it ("TUMBLE window append"). */
  readonly operator: string;
  readonly mode: string;
  readonly streams: readonly string[];
  readonly keys: readonly string[];
  readonly windows: readonly WindowFingerprint[];
  readonly groupBy: readonly string[];
  readonly aggregates: readonly string[];
  readonly outputs: readonly string[];
  readonly filter: string | null;
  /** A hash of the whole normalised query: catches a change the fields above do not name (a CTE, a join condition). */
  readonly queryHash: string;
  /** Every table of the state database it owns, its output table included (dropped with it). */
  readonly tables: readonly string[];
  /** Per stream: the source columns the query may read, lower-cased (`*`: every column). Typed in `sourceColumns`. */
  readonly reads: Readonly<Record<string, readonly string[]>>;
  /**
   * Per stream: `name TYPE` of the columns its state is built from, or null while the stream's schema is not known
   * (inferred, no record yet: the operator has not run, its state is empty). Filled in at start (withSourceColumns).
   */
  readonly sourceColumns: Readonly<Record<string, readonly string[] | null>>;
}
