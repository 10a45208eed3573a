import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as arrow from 'apache-arrow';
import { Checkpoint, type OffsetLogEntry } from '../checkpoint/checkpoint.js';
import { CorruptFileError, errorMessage, internalError, userError } from '../errors.js';
import { eventTimeStatsFromArrow, type EventTimeStats } from '../arrow/event-time-stats.js';
import { ingestSourceBatch } from '../arrow/ingest-source-batch.js';
import { ReadyTables } from '../arrow/ready-tables.js';
import { withoutUnreadMetadata } from '../arrow/loaded-columns.js';
import type { BatchCaps } from '../plan/plan-batch.js';
import { rangeFromJson, rangeSize, rangeToJson, type OffsetRange, type OffsetRangeJson, type PartitionKey } from '../plan/offset-range.js';
import { parseSchemaText, schemaToText, type ValueSchema } from '../source/schema.js';
import type { SourceBatch } from '../source/source.js';
import { DeadLetterWriter } from '../sink/dead-letter-writer.js';
import { publishCatalog } from '../sink/notebook-catalog.js';
import { ident, type Engine } from '../sql/engine.js';
import { BOUNDS, onTimeTable, type StatefulOperator } from '../stateful/operator.js';
import { columnRef, parseSelect, selectList } from '../sql/parse-tree.js';
import { DAMAGED_STATE_FIX, StateStore, type StateMeta } from '../stateful/state-store.js';
import { damagedDatabaseError } from '../sql/damaged-database.js';
import { diskFullError } from '../util/io-failure.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { CompiledJob, CompiledSink } from './compile-job.js';
import { bindQueries } from './bind-queries.js';
import { PhaseTimer } from './phase-timer.js';
import { buildProgress, type BatchProgress, type ProgressInput } from './progress.js';
import { planSource } from './plan-source.js';
import { onTimeSql, queryEventTimeStats, timestampSql } from './event-time-query.js';
import { applyStateEvolution, planStateEvolution } from './evolve-state.js';
import type { EvolutionRequest } from '../stateful/state-evolution.js';
import { prefetchNextBatch } from './prefetch-next-batch.js';
import { advanceWatermark, END_OF_TIME_MS, INITIAL_WATERMARK, type WatermarkState } from './watermark.js';

/** The points between protocol steps where a test can inject a crash. */
export type ProtocolStep = 'offsetLogWritten' | 'read' | 'stateCommitted' | 'sinkWritten' | 'sinksWritten' | 'commitLogWritten';

export interface DriverOptions {
  readonly clock?: Clock;
  readonly caps?: BatchCaps;
  /** How many batches of offset/commit log to keep (default 100). */
  readonly retainBatches?: number;
  /** Purge the logs once this many entries are due, not every batch (default 10). */
  readonly purgeEvery?: number;
  /** Notes for the user (stderr in the CLI). */
  readonly note?: (message: string) => void;
  /** Test hook: called after each protocol step; throwing simulates a crash there. */
  readonly afterStep?: (step: ProtocolStep, batchId: number, detail?: string) => void | Promise<void>;
  /** Publish the state snapshot for `duckstream state` at most this often (default 2 s; 0 = every batch). */
  readonly snapshotIntervalMs?: number;
  /** Stateful sinks whose state is reset or rebuilt at start (`--reset-state`, `--rebuild-state`). */
  readonly evolution?: EvolutionRequest;
  /** Bind the sink queries over a source when its schema is inferred, before the batch is logged (SQL jobs). */
  readonly bindInferred?: boolean;
}

export interface RunOnceOptions {
  /** Read no further than these offsets (available-now: what was available at start). */
  readonly upTo?: ReadonlyMap<string, ReadonlyMap<PartitionKey, bigint>>;
  /** Ignore the batch caps (trigger once). */
  readonly uncapped?: boolean;
  /** The trigger time this batch belongs to (default: now); its delay to the start is schedulingDelayMs. */
  readonly batchTime?: number;
  /** With no new data, run a batch that moves the watermark to the end of time, emitting every open window. */
  readonly drain?: boolean;
}

type Ranges = Map<string, OffsetRange[]>;

/** The batch being run, as its offset log entry has it. */
interface RunningBatch {
  readonly id: number;
  readonly entry: OffsetLogEntry;
  readonly ranges: Ranges;
  /** The sources' latest offsets when the batch was planned (undefined for a recovered batch). */
  readonly latest: Map<string, Map<PartitionKey, bigint>> | undefined;
  /** Re-run from the offset log after a crash inside it. */
  readonly recovered: boolean;
  /** Resolves when the offset entry's rename is durable. */
  readonly offsetLogDurable: Promise<void>;
}

/** The batch's rows, in DuckDB. */
interface LoadedBatch {
  /** Per source with a schema: its batch, with its final rows and dead letters. */
  readonly read: Map<string, SourceBatch>;
  /** Event-time facts read from the Arrow buffers, per source where they could be. */
  readonly arrowStats: ReadonlyMap<string, EventTimeStats>;
  /** Per source loaded from Arrow: the columns of its table (re-created empty with them after the batch). */
  readonly loadedSchemas: ReadonlyMap<string, arrow.Schema>;
}

interface Transformed {
  readonly watermark: WatermarkState;
  readonly lateRows: number;
  readonly withOutput: ReadonlySet<StatefulOperator>;
}

interface Outputs {
  readonly sinkRows: Record<string, number>;
  readonly deadLetters: number;
}

/**
 * Give each source without a declared schema the one the checkpoint fixed when it inferred it, so a restart
 * decodes as the first run did (and the bind check sees the columns). Sources with a schema keep theirs.
 */
export function useStoredSchemas(job: CompiledJob, checkpoint: Checkpoint): void {
  for (const source of job.sources) {
    const stored = checkpoint.metadata.schemas[source.name];
    if (stored !== undefined && !source.schema) source.useSchema(parseSchemaText(stored));
  }
}

/** The job's sinks and its late-row sinks: opened at start and closed at the end together. */
const allSinks = (job: CompiledJob) => [...job.sinks.map((s) => s.sink), ...job.lateRowSinks.values()];

const rangesOf = (entry: OffsetLogEntry): Ranges => new Map(Object.entries(entry.sources).map(([name, rs]) => [name, rs.map(rangeFromJson)]));

/**
 * Refuse a checkpoint whose committed batches had state when the state file is gone, before an empty one is created
 * in its place (opening makes one, and the job would go on from empty state: a silently wrong output).
 */
function refuseMissingState(checkpoint: Checkpoint): void {
  const committed = checkpoint.commits.getLatest()?.batchId;
  const since = checkpoint.metadata.statefulSince;
  if (committed === undefined || since === undefined || committed < since || existsSync(checkpoint.statePath)) return;
  throw new CorruptFileError(checkpoint.statePath, `missing, but the checkpoint committed batch ${committed} with state in it`, DAMAGED_STATE_FIX);
}

/**
 * The micro-batch loop (docs/architecture.md#data-flow, #the-batch-protocol). `runOnce` is the one place where the protocol's order lives, one method
 * per step: plan or recover → offset log entry → read and load → transform, state committed with the batch id →
 * sinks → commit log → advisory source commits and purge.
 */
export class Driver {
  private readonly clock: Clock;
  private lastBatchStart: number | undefined;
  private catalogPublished = false;
  private catalogPending = 0;
  private lastSnapshotAt = Number.NEGATIVE_INFINITY;
  private lastSnapshotMs = 0;
  /** Per source: the column its event time is, when it is a bare column (undefined: an expression). */
  private readonly eventTimeColumns = new Map<string, string | undefined>();
  private readonly readyTables = new ReadyTables();

  private constructor(
    /** Replaced once, should binding a query over an inferred schema widen a source's columns (bindQueries). */
    private compiled: CompiledJob,
    readonly checkpoint: Checkpoint,
    private readonly engine: Engine,
    private readonly state: StateStore | undefined,
    private readonly options: DriverOptions,
    /** Sinks whose operator started with empty state in this run (no output of a batch that committed before). */
    private readonly freshOperators: ReadonlySet<string> = new Set(),
  ) {
    this.clock = options.clock ?? systemClock;
  }

  get job(): CompiledJob {
    return this.compiled;
  }

  /** Open sinks and state, restore fixed schemas, cross-check sinks and state against the commit log. */
  static async start(job: CompiledJob, checkpoint: Checkpoint, engine: Engine, options: DriverOptions = {}): Promise<Driver> {
    useStoredSchemas(job, checkpoint);
    // Everything that can refuse the start runs before the first write to the checkpoint.
    const evolution = await planStateEvolution(job, checkpoint, engine, options.evolution ?? {});
    checkpoint.acceptJob();
    const needsState = job.operators.length > 0 || evolution.drop.length > 0;
    if (needsState && !job.operators.every((op) => evolution.rebuild.has(op.sink))) refuseMissingState(checkpoint);
    const store = needsState ? await StateStore.open(engine, checkpoint.statePath) : undefined;
    if (store) await applyStateEvolution(evolution, { job, checkpoint, engine, state: store, note: options.note });
    const state = job.operators.length > 0 ? store : undefined;
    const driver = new Driver(job, checkpoint, engine, state, options, new Set([...evolution.fresh].filter((s) => !evolution.rebuild.has(s))));
    for (const sink of allSinks(job)) await sink.open(engine);
    // The state first: a stateful sink's batches live in the state, so a lost state also looks like a lost sink.
    await driver.checkStateAgainstCommitLog();
    await driver.checkSinksAgainstCommitLog();
    await driver.publishCatalogIfNeeded();
    return driver;
  }

  /** A batch id is pending when its offsets were logged but its commit was not (a crash in between). */
  get pendingBatchId(): number | undefined {
    return this.checkpoint.pendingBatch()?.batchId;
  }

  /** The watermark the next batch runs with (ms), null before any event time. */
  get watermarkMs(): number | null {
    return this.lastWatermark().watermarkMs;
  }

  /** Latest offsets of every source now: the bound of an available-now run. */
  async snapshotLatest(): Promise<Map<string, Map<PartitionKey, bigint>>> {
    const out = new Map<string, Map<PartitionKey, bigint>>();
    for (const s of this.job.sources) out.set(s.name, await s.latestOffsets());
    return out;
  }

  /**
   * Run one batch: the pending one if the last run crashed inside a batch, else the next planned one.
   * Returns undefined when there is nothing to do (no new data, and no watermark move that would emit anything).
   */
  async runOnce(runOptions: RunOnceOptions = {}): Promise<BatchProgress | undefined> {
    try {
      return await this.runBatch(runOptions);
    } catch (err) {
      // DuckDB names a damaged block, not its file; a full disk is named by whichever write hit it.
      throw (this.state ? damagedDatabaseError(this.state.path, err, DAMAGED_STATE_FIX) : undefined) ?? diskFullError(err) ?? err;
    }
  }

  private async runBatch(runOptions: RunOnceOptions): Promise<BatchProgress | undefined> {
    const startedAt = this.clock.now();
    const timer = new PhaseTimer();
    // 1–2. Plan (or take the pending batch's plan) and log it.
    const batch = await this.planOrRecover(runOptions, startedAt, timer);
    if (!batch) return undefined;
    await this.options.afterStep?.('offsetLogWritten', batch.id);
    // 3. Read into Arrow, load into DuckDB.
    const read = await this.readSources(batch, timer);
    await timer.time('plan', () => this.readAhead(batch, runOptions));
    await this.options.afterStep?.('read', batch.id);
    const loaded = await this.load(batch, read, timer);
    await timer.time('walCommit', () => batch.offsetLogDurable);
    // 4. Transform; state committed with the batch id.
    const transformed = await timer.time('transform', () => this.transformAndCommitState(batch, loaded));
    await this.options.afterStep?.('stateCommitted', batch.id);
    // 5–6. Sinks, while the commit entry is prepared; then the commit log.
    const outputs = this.writeOutputs(batch, loaded, transformed.withOutput, timer);
    await this.commit(batch, transformed.watermark, outputs, timer);
    await this.options.afterStep?.('commitLogWritten', batch.id);
    // 7. Advisory source commits and housekeeping.
    const state = await timer.time('commit', () => this.afterCommit(batch));
    return this.reportProgress({ batch, startedAt, loaded, outputs: await outputs, transformed, state, timer });
  }

  /**
   * Protocol steps 1–2: plan the next batch's ranges and write its offset log entry before anything is read; or,
   * after a crash inside a batch, take the pending batch's entry as it was logged (a replay reads the same ranges).
   */
  private async planOrRecover(runOptions: RunOnceOptions, now: number, timer: PhaseTimer): Promise<RunningBatch | undefined> {
    const pending = this.checkpoint.pendingBatch();
    if (pending) {
      this.options.note?.(`recovering batch ${pending.batchId}: re-running it with the ranges in its offset log`);
      return {
        id: pending.batchId,
        entry: pending.entry,
        ranges: rangesOf(pending.entry),
        latest: undefined,
        recovered: true,
        offsetLogDurable: Promise.resolve(),
      };
    }
    const latest = await timer.time('plan', () => this.snapshotLatest());
    const planned = await timer.time('plan', () => this.plan(latest, runOptions, now));
    if (!planned) return undefined;
    const id = (this.checkpoint.offsets.getLatest()?.batchId ?? -1) + 1;
    const entry: OffsetLogEntry = {
      batchId: id,
      batchTime: runOptions.batchTime ?? now,
      watermarkMs: this.lastWatermark().watermarkMs,
      jobHash: this.job.def.jobHash,
      sources: planned.sources,
      ...(planned.drain ? { drain: true } : {}),
    };
    // The entry's content is fsynced before any read; the directory fsync that makes its rename durable overlaps the
    // read, and is awaited before the batch's first write (state, late rows, sinks).
    const { durable } = timer.time('walCommit', () => this.checkpoint.offsets.addDeferringDirSync(id, entry));
    return { id, entry, ranges: rangesOf(entry), latest, recovered: false, offsetLogDurable: durable };
  }

  /**
   * Protocol step 3, the read: every source's ranges as Arrow. A source without a schema never had a record: there
   * is nothing to read, and its sinks have no input.
   */
  private async readSources(batch: RunningBatch, timer: PhaseTimer): Promise<Map<string, SourceBatch>> {
    const read = new Map<string, SourceBatch>();
    for (const source of this.job.sources) {
      if (!source.schema) continue;
      const sourceBatch = await source.read(batch.ranges.get(source.name) ?? []);
      read.set(source.name, sourceBatch);
      timer.add('read', sourceBatch.timings?.readMs ?? 0);
      timer.add('toArrow', sourceBatch.timings?.decodeMs ?? 0);
    }
    return read;
  }

  /**
   * While DuckDB works on this batch, sources may read and decode the next one as it would be planned now: only a
   * cache, which the next batch uses if it plans exactly those ranges (after logging them, as always).
   */
  private async readAhead(batch: RunningBatch, runOptions: RunOnceOptions): Promise<void> {
    if (batch.latest && !runOptions.uncapped) await prefetchNextBatch(this.job.sources, batch.entry, batch.latest, runOptions.upTo, this.options.caps ?? {});
  }

  /**
   * Protocol step 3, the load: each source's rows into its DuckDB table `<source>`, without the metadata columns no
   * query names. Event-time facts are read from the Arrow buffers first, where they can be (they decide whether the
   * event-time query needs _topic and _partition, so whether the load keeps them).
   */
  private async load(batch: RunningBatch, read: Map<string, SourceBatch>, timer: PhaseTimer): Promise<LoadedBatch> {
    const arrowStats = await timer.time('transform', () => this.eventTimeStatsFromArrow(batch, read));
    const loadedSchemas = new Map<string, arrow.Schema>();
    await timer.time('ingest', async () => {
      for (const [name, sourceBatch] of read) {
        const table = this.loadedColumns(name, sourceBatch.table, arrowStats.has(name));
        await this.engine.exclusive((c) => ingestSourceBatch(c, name, sourceBatch, this.readyTables, table));
        loadedSchemas.set(name, table.schema);
      }
    });
    return { read, arrowStats, loadedSchemas };
  }

  /** The source's table as loaded: without the metadata columns no query names (the event-time query may need _topic, _partition). */
  private loadedColumns(name: string, table: arrow.Table, hasArrowStats: boolean): arrow.Table {
    const keep = this.job.metadataColumns.get(name);
    if (keep === undefined) return table;
    // The event-time query (when the Arrow buffers cannot answer) groups by _topic and _partition.
    const askDuckdb = this.job.eventTime.has(name) && !hasArrowStats;
    return withoutUnreadMetadata(table, askDuckdb ? new Set([...keep, '_topic', '_partition']) : keep);
  }

  /** Per source loaded from Arrow whose event time is a plain timestamp column of it: the batch's event-time facts. */
  private async eventTimeStatsFromArrow(batch: RunningBatch, read: ReadonlyMap<string, SourceBatch>): Promise<Map<string, EventTimeStats>> {
    const stats = new Map<string, EventTimeStats>();
    for (const [name, sourceBatch] of read) {
      const ets = this.job.eventTime.get(name);
      if (ets === undefined) continue;
      const found = await this.arrowEventTimeStats(name, ets, batch.entry.watermarkMs, sourceBatch.table);
      if (found) stats.set(name, found);
    }
    return stats;
  }

  /**
   * Protocol step 4: late rows out, the on-time rows folded into the stateful operators, and state, outputs, batch
   * id and next watermark committed in one transaction.
   */
  private async transformAndCommitState(batch: RunningBatch, loaded: LoadedBatch): Promise<Transformed> {
    const { batchMax, lateRows } = await this.splitAtWatermark(batch, loaded);
    const { watermark, withOutput } = await this.foldIntoState(batch, loaded.read, batchMax);
    return { watermark, lateRows, withOutput };
  }

  /**
   * Protocol step 5, the sinks: each written idempotently by batch id, then the dead letters. Runs while the
   * commit entry is prepared (`commit`).
   */
  private async writeOutputs(batch: RunningBatch, loaded: LoadedBatch, withOutput: ReadonlySet<StatefulOperator>, timer: PhaseTimer): Promise<Outputs> {
    const sinkRows = await this.writeSinks(batch, loaded.read, withOutput, timer);
    const deadLetters = timer.time('sink', () => this.writeDeadLetters(batch, loaded.read));
    await this.options.afterStep?.('sinksWritten', batch.id);
    return { sinkRows, deadLetters };
  }

  /**
   * Protocol step 6, the commit log entry, after which the batch is done. Its temp file is written and fsynced while
   * the sinks run; it is renamed into place only once they all succeeded (committedAt is when the commit was
   * prepared, a few ms early). The commit phase is the part after the sinks.
   */
  private async commit(batch: RunningBatch, watermark: WatermarkState, outputs: Promise<Outputs>, timer: PhaseTimer): Promise<void> {
    const value = { batchId: batch.id, nextWatermarkMs: watermark.watermarkMs, committedAt: new Date(this.clock.now()).toISOString(), watermark };
    const committed = this.checkpoint.commits.addAfter(
      batch.id,
      value,
      outputs.then(() => undefined),
    );
    await timer.timeAfter('commit', outputs, committed);
  }

  /**
   * Protocol step 7, after the commit: advisory source commits (lag tools), log purge, state outputs purged, the
   * notebook catalog and the state snapshot. Returns the state's size for the progress record.
   */
  private async afterCommit(batch: RunningBatch): Promise<ProgressInput['state']> {
    for (const source of this.job.sources) {
      // The checkpoint is the truth, so a failure here never fails the batch.
      await source
        .commit?.(batch.ranges.get(source.name) ?? [])
        .catch((err: unknown) => this.options.note?.(`source '${source.name}': offset commit failed (advisory): ${errorMessage(err)}`));
    }
    this.checkpoint.purge(this.options.retainBatches ?? 100, this.options.purgeEvery ?? 10);
    await this.state?.purgeOutputs(this.job.operators, batch.id);
    await this.publishCatalogIfNeeded();
    const state = this.state ? await this.state.stats(this.job.operators) : undefined;
    await this.publishStateSnapshot(false);
    return state;
  }

  /** The batch's line of progress.ndjson; then the source tables are emptied while the next batch is planned and read. */
  private reportProgress(r: {
    batch: RunningBatch;
    startedAt: number;
    loaded: LoadedBatch;
    outputs: Outputs;
    transformed: Transformed;
    state: ProgressInput['state'];
    timer: PhaseTimer;
  }): BatchProgress {
    const progress = buildProgress({
      job: this.job,
      checkpoint: this.checkpoint,
      batchId: r.batch.id,
      batchTime: r.batch.entry.batchTime,
      startedAt: r.startedAt,
      previousStart: this.lastBatchStart,
      endedAt: this.clock.now(),
      ranges: r.batch.ranges,
      latest: r.batch.latest,
      read: r.loaded.read,
      sinkRows: r.outputs.sinkRows,
      deadLetters: r.outputs.deadLetters,
      times: r.timer.times,
      recovered: r.batch.recovered,
      watermarkMs: r.transformed.watermark.watermarkMs,
      lateRows: r.transformed.lateRows,
      state: r.state,
    });
    this.lastBatchStart = r.startedAt;
    this.checkpoint.appendProgress(progress);
    for (const [name, schema] of r.loaded.loadedSchemas) this.readyTables.prepare(this.engine, ident(name), schema);
    return progress;
  }

  /** Close sources and sinks and release the checkpoint. */
  async close(): Promise<void> {
    await this.readyTables.settled();
    await this.publishStateSnapshot(true).catch((err: unknown) => this.options.note?.(`state snapshot not published: ${errorMessage(err)}`));
    for (const sink of allSinks(this.job)) await sink.close().catch(() => undefined);
    for (const source of this.job.sources) await source.close().catch(() => undefined);
    await this.checkpoint.settled().catch((err: unknown) => this.options.note?.(`purging old log entries failed (the next run retries): ${errorMessage(err)}`));
    this.checkpoint.close();
  }

  /** Where `duckstream state` reads: a copy of state.duckdb published after batches. */
  get stateSnapshotPath(): string {
    return join(this.checkpoint.dir, 'state-snapshot.duckdb');
  }

  private lastWatermark(): WatermarkState {
    return this.checkpoint.commits.getLatest()?.value.watermark ?? INITIAL_WATERMARK;
  }

  private async plan(
    latest: Map<string, Map<PartitionKey, bigint>>,
    runOptions: RunOnceOptions,
    now: number,
  ): Promise<{ sources: Record<string, OffsetRangeJson[]>; drain: boolean } | undefined> {
    const last = this.checkpoint.offsets.getLatest()?.value;
    const planned: Record<string, OffsetRange[]> = {};
    let hasData = false;
    for (const source of this.job.sources) {
      const plan = await planSource(source, {
        previous: last?.sources[source.name]?.map(rangeFromJson),
        firstBatch: last === undefined,
        latest: latest.get(source.name)!,
        bound: runOptions.upTo?.get(source.name),
        caps: runOptions.uncapped ? undefined : (this.options.caps ?? {}),
      });
      planned[source.name] = plan.ranges;
      hasData ||= plan.hasData;
    }
    let drain = false;
    // DStream jobs run a batch every trigger interval, data or not (Spark Streaming's JobGenerator): windows slide
    // and state times out by batch. Only interval triggers pass a batchTime, so available-now/once still end.
    const everyInterval = this.job.batchEveryInterval === true && runOptions.batchTime !== undefined;
    if (!hasData && !everyInterval) {
      // A batch without data still runs when it moves the watermark (drain, idle sources): windows close in it.
      if (this.job.operators.length === 0) return undefined;
      const current = this.lastWatermark();
      if (runOptions.drain) {
        if (current.watermarkMs === END_OF_TIME_MS) return undefined;
        drain = true;
      } else {
        const moved = advanceWatermark(current, this.job.watermarks, new Map(), now);
        if (moved.watermarkMs === null || moved.watermarkMs === current.watermarkMs) return undefined;
      }
    }
    // Schemas are fixed before the offset log is written, so a replay decodes exactly as the first run did; and the
    // queries over them are bound first, so a misspelt column is refused with no batch logged (nor schema stored).
    const inferred = new Map<string, ValueSchema>();
    for (const source of this.job.sources) {
      if (source.schema) continue;
      const ranges = planned[source.name]!;
      if (!ranges.some((r) => rangeSize(r) > 0n)) continue;
      const schema = await source.inferSchema(ranges);
      source.useSchema(schema);
      inferred.set(source.name, schema);
    }
    if (inferred.size > 0 && this.options.bindInferred) this.compiled = await bindQueries(this.job, this.engine, new Set(inferred.keys()));
    for (const [name, schema] of inferred) {
      this.checkpoint.updateMetadata((m) => {
        m.schemas[name] = schemaToText(schema);
      });
      this.options.note?.(`source '${name}': inferred columns ${schemaToText(schema)} (fixed for this checkpoint)`);
    }
    return { sources: Object.fromEntries(Object.entries(planned).map(([name, rs]) => [name, rs.map(rangeToJson)])), drain };
  }

  /**
   * Per source: the batch's max event time per partition and its rows behind the batch's watermark, which go to
   * the source's late-row sink; the on-time rows are left in a view `__ds_ontime_<source>` for the operators.
   */
  private async splitAtWatermark(batch: RunningBatch, loaded: LoadedBatch): Promise<{ batchMax: Map<string, Map<string, number>>; lateRows: number }> {
    const wN = batch.entry.watermarkMs;
    const batchMax = new Map<string, Map<string, number>>();
    let lateRows = 0;
    for (const name of loaded.read.keys()) {
      const ets = this.job.eventTime.get(name);
      const onTime = ets ? onTimeSql(ets, wN) : 'true';
      if (ets) {
        const { maxima, late } = loaded.arrowStats.get(name) ?? (await queryEventTimeStats(this.engine, name, ets, wN));
        batchMax.set(name, maxima);
        lateRows += late;
        const lateSink = this.job.lateRowSinks.get(name);
        if (lateSink && late > 0) {
          await this.engine.run(`CREATE OR REPLACE TEMP TABLE __ds_late AS SELECT * FROM ${ident(name)} WHERE NOT (${onTime})`);
          await lateSink.addBatch({
            batchId: batch.id,
            batchTime: batch.entry.batchTime,
            engine: this.engine,
            relation: '__ds_late',
            numRows: late,
            fsync: this.checkpoint.fsync,
          });
        }
      }
      // A view, not a copy: operators read the on-time rows once or twice, and copying every column of the batch
      // (strings included) cost more than those reads.
      if (this.state) await this.engine.run(`CREATE OR REPLACE TEMP VIEW ${onTimeTable(name)} AS SELECT * FROM ${ident(name)} WHERE ${onTime}`);
    }
    return { batchMax, lateRows };
  }

  /**
   * Fold the on-time rows into the stateful operators and commit state, outputs, batch id and next watermark in
   * one transaction. A replay of a batch whose state was committed takes the stored result instead of folding the
   * rows in twice. `withOutput`: the operators whose output table holds this batch's rows — those that ran over it,
   * now or in the run that committed it (an operator runs once all its streams have a schema; until then it has no
   * output table).
   */
  private async foldIntoState(
    batch: RunningBatch,
    read: ReadonlyMap<string, SourceBatch>,
    batchMax: ReadonlyMap<string, ReadonlyMap<string, number>>,
  ): Promise<{ watermark: WatermarkState; withOutput: ReadonlySet<StatefulOperator> }> {
    const previous = this.checkpoint.commits.get(batch.id - 1)?.watermark ?? INITIAL_WATERMARK;
    const { entry } = batch;
    const withOutput = new Set(this.job.operators.filter((op) => op.streams.every((s) => read.has(s))));
    if (!this.state) return { watermark: advanceWatermark(previous, this.job.watermarks, batchMax, entry.batchTime, entry.drain), withOutput };
    const meta = await this.state.meta();
    if (meta?.batchId === batch.id) {
      // The state of this (recovered) batch committed before the start: operators that started empty since have no output of it.
      for (const op of withOutput) if (this.freshOperators.has(op.sink)) withOutput.delete(op);
      return { watermark: (meta.info['watermark'] as WatermarkState | undefined) ?? previous, withOutput };
    }
    this.checkStateMeta(meta, batch.id);
    const watermark = advanceWatermark(previous, this.job.watermarks, batchMax, entry.batchTime, entry.drain);
    const wN = entry.watermarkMs;
    const hi =
      watermark.watermarkMs === null
        ? `'-infinity'::TIMESTAMP`
        : watermark.watermarkMs >= END_OF_TIME_MS
          ? `'infinity'::TIMESTAMP`
          : timestampSql(watermark.watermarkMs);
    await this.engine.run(`CREATE OR REPLACE TEMP TABLE ${BOUNDS} AS SELECT ${wN === null ? `'-infinity'::TIMESTAMP` : timestampSql(wN)} AS lo, ${hi} AS hi`);
    await this.state.commitBatch(batch.id, { watermark }, async (exec) => {
      for (const op of withOutput) await op.process(exec, batch.id);
    });
    return { watermark, withOutput };
  }

  /**
   * Per partition, the batch's max event time (ms), and its rows behind the watermark `wN`, from the Arrow table of
   * a batch loaded as it is, when the event time is a plain timestamp column of it (one DuckDB statement fewer per
   * batch: on tiny batches a large part of the transform); undefined when the driver must ask DuckDB.
   */
  private async arrowEventTimeStats(name: string, ets: string, wN: number | null, table: arrow.Table): Promise<EventTimeStats | undefined> {
    const column = await this.eventTimeColumn(name, ets);
    return column === undefined ? undefined : eventTimeStatsFromArrow(table, column, wN);
  }

  /** The column an event-time expression names when it is nothing but a column reference (DuckDB's parser decides). */
  private async eventTimeColumn(name: string, ets: string): Promise<string | undefined> {
    if (!this.eventTimeColumns.has(name)) {
      let column: string | undefined;
      try {
        const names = columnRef(selectList(await parseSelect(this.engine, `SELECT (${ets})`))[0]) ?? [];
        if (names.length === 1) column = names[0];
      } catch {
        column = undefined; // the query path reports whatever is wrong with the expression
      }
      this.eventTimeColumns.set(name, column);
    }
    return this.eventTimeColumns.get(name);
  }

  private async writeSinks(
    batch: RunningBatch,
    read: ReadonlyMap<string, SourceBatch>,
    withOutput: ReadonlySet<StatefulOperator>,
    timer: PhaseTimer,
  ): Promise<Record<string, number>> {
    const sinkRows: Record<string, number> = {};
    const common = { batchId: batch.id, batchTime: batch.entry.batchTime, engine: this.engine, fsync: this.checkpoint.fsync };
    for (const s of this.job.sinks) {
      const { plan, sink } = s;
      if (plan.kind === 'stateless' && s.mode === 'append' && sink.addQuery) {
        // Straight from the query to the sink: no temp table holding a copy of the batch's rows.
        if (!read.has(plan.source)) continue;
        sinkRows[s.def.name] = await timer.time('sink', () => sink.addQuery!({ ...common, query: s.def.query }));
      } else {
        const created = await timer.time('transform', () => this.sinkRelation(s, batch.id, read, withOutput));
        if (!created) continue;
        const keyColumns = plan.kind === 'stateful' ? plan.operator.keyColumns : [];
        await timer.time('sink', () => sink.addBatch({ ...common, relation: created.relation, numRows: created.numRows, mode: s.mode, keyColumns }));
        sinkRows[s.def.name] = created.numRows;
      }
      await this.options.afterStep?.('sinkWritten', batch.id, s.def.name);
    }
    return sinkRows;
  }

  /**
   * A temp table with exactly this batch's rows for the sink and its row count, or undefined when the sink has
   * no input yet (its source, or its operator, has no output for the batch). The count is the one CREATE TABLE AS
   * reports (no second count(*) query per batch).
   */
  private async sinkRelation(
    s: CompiledSink,
    batchId: number,
    read: ReadonlyMap<string, SourceBatch>,
    withOutput: ReadonlySet<StatefulOperator>,
  ): Promise<{ relation: string; numRows: number } | undefined> {
    const plan = s.plan;
    if (plan.kind === 'stateless' ? !read.has(plan.source) : !withOutput.has(plan.operator)) return undefined;
    const query = plan.kind === 'stateless' ? s.def.query : `SELECT * EXCLUDE (__ds_batch) FROM ${plan.operator.outputTable} WHERE __ds_batch = ${batchId}`;
    const relation = ident(`__sink_${s.def.name}`);
    const [row] = await this.engine.all(`CREATE OR REPLACE TEMP TABLE ${relation} AS ${query}`);
    if (row?.['Count'] !== undefined) return { relation, numRows: Number(row['Count']) };
    const [counted] = await this.engine.all(`SELECT count(*)::BIGINT AS n FROM ${relation}`);
    return { relation, numRows: Number(counted?.['n'] ?? 0) };
  }

  /** Each source's undecodable records of the batch, into its dead-letter directory (idempotent by batch id). */
  private writeDeadLetters(batch: RunningBatch, read: ReadonlyMap<string, SourceBatch>): number {
    let deadLetters = 0;
    for (const [name, sourceBatch] of read) {
      if (sourceBatch.deadLetters.length === 0) continue;
      new DeadLetterWriter(this.job.deadLetterDirs.get(name)!, this.checkpoint.fsync).write(batch.id, sourceBatch.deadLetters);
      deadLetters += sourceBatch.deadLetters.length;
    }
    return deadLetters;
  }

  /** The state must be that of the previous batch (a fresh state file was vetted at start). */
  private checkStateMeta(meta: StateMeta | undefined, batchId: number): void {
    if (meta !== undefined && meta.batchId !== batchId - 1) {
      throw internalError(`state ${this.checkpoint.statePath} is at batch ${meta.batchId}, but batch ${batchId} needs the state of batch ${batchId - 1}`);
    }
  }

  /** State must not be behind the commit log (a cut WAL tail loses a committed transaction: docs/architecture.md#known-hazards). */
  private async checkStateAgainstCommitLog(): Promise<void> {
    if (!this.state) return;
    if (this.checkpoint.metadata.statefulSince === undefined) {
      const next = (this.checkpoint.offsets.getLatest()?.batchId ?? -1) + (this.checkpoint.pendingBatch() ? 0 : 1);
      this.checkpoint.updateMetadata((m) => (m.statefulSince = next));
      return;
    }
    const committed = this.checkpoint.commits.getLatest()?.batchId;
    const meta = await this.state.meta();
    if (committed !== undefined && committed >= this.checkpoint.metadata.statefulSince && (meta === undefined || meta.batchId < committed)) {
      throw userError(
        `state ${this.checkpoint.statePath} is at batch ${meta?.batchId ?? 'none'} but the checkpoint committed batch ${committed}: the state file lost committed data`,
        'restore state.duckdb from a backup, or start over with a new --checkpoint',
      );
    }
  }

  /**
   * A sink that records its last batch id must not be behind the commit log: if it is, its own storage lost a
   * committed transaction (docs/architecture.md#known-hazards) and replaying would not restore it.
   */
  private async checkSinksAgainstCommitLog(): Promise<void> {
    const committed = this.checkpoint.commits.getLatest()?.batchId;
    if (committed === undefined) return;
    for (const { sink } of this.job.sinks) {
      if (!sink.lastBatchId) continue;
      const last = await sink.lastBatchId();
      if (last === undefined || last < committed) {
        throw userError(
          `sink '${sink.name}' has batches up to ${last ?? 'none'} but the checkpoint committed batch ${committed}: the sink's storage lost committed data`,
          "restore the sink's file from a backup, or start over with a new --checkpoint and an empty sink",
        );
      }
    }
  }

  /**
   * Notebooks cannot open the driver's live database, so they get a catalog file of views over the committed
   * Parquet (docs/architecture.md#sink-contract). Views read their glob at query time: it is republished only while some view still waits
   * for its first file.
   */
  private async publishCatalogIfNeeded(): Promise<void> {
    const catalog = this.job.catalog;
    if (!catalog || (this.catalogPublished && this.catalogPending === 0)) return;
    const result = await publishCatalog(catalog.path, catalog.views, catalog.job);
    this.catalogPublished = true;
    this.catalogPending = result.pending.length;
  }

  private async publishStateSnapshot(force: boolean): Promise<void> {
    if (!this.state) return;
    const now = performance.now();
    // By default at most every 2 s, and spaced so that copying a large state takes at most ~10% of the job's time.
    const interval = this.options.snapshotIntervalMs ?? Math.max(2000, 10 * this.lastSnapshotMs);
    if (!force && now - this.lastSnapshotAt < interval) return;
    await this.state.publishSnapshot(this.stateSnapshotPath, this.job.operators);
    this.lastSnapshotAt = now;
    this.lastSnapshotMs = performance.now() - now;
  }
}
