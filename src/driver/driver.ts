import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as arrow from 'apache-arrow';
import { Checkpoint, type OffsetLogEntry } from '../checkpoint/checkpoint.js';
import { errorMessage, internalError, userError } from '../errors.js';
import { eventTimeStatsFromArrow, type EventTimeStats } from '../arrow/event-time-stats.js';
import { ingestSourceBatch } from '../arrow/ingest-source-batch.js';
import { ReadyTables } from '../arrow/ready-tables.js';
import { withoutUnreadMetadata } from '../arrow/loaded-columns.js';
import type { BatchCaps } from '../plan/plan-batch.js';
import { rangeFromJson, rangeSize, rangeToJson, type OffsetRange, type OffsetRangeJson, type PartitionKey } from '../plan/offset-range.js';
import { parseSchemaText, schemaToText } from '../source/schema.js';
import type { SourceBatch } from '../source/source.js';
import { DeadLetterWriter } from '../sink/dead-letter-writer.js';
import { JsonlSink } from '../connectors/jsonl/jsonl-sink.js';
import { publishCatalog } from '../sink/notebook-catalog.js';
import { ident, type Engine } from '../sql/engine.js';
import { BOUNDS, onTimeTable } from '../stateful/operator.js';
import { parseSelect, type TreeNode } from '../stateful/sql-tree.js';
import { StateStore, type StateMeta } from '../stateful/state-store.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { CompiledJob, CompiledSink } from './compile-job.js';
import { buildProgress, type BatchProgress, type PhaseTimes } from './progress.js';
import { planSource } from './plan-source.js';
import { onTimeSql, queryEventTimeStats, timestampSql } from './event-time-query.js';
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

/**
 * The micro-batch loop (DESIGN §1–§2). `runOnce` is the one place where the protocol's order lives:
 * plan → offset log → read → transform (state committed with the batch id) → sinks → commit log →
 * source commit → purge.
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
    readonly job: CompiledJob,
    readonly checkpoint: Checkpoint,
    private readonly engine: Engine,
    private readonly state: StateStore | undefined,
    private readonly options: DriverOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Open sinks and state, restore fixed schemas, cross-check sinks and state against the commit log. */
  static async start(job: CompiledJob, checkpoint: Checkpoint, engine: Engine, options: DriverOptions = {}): Promise<Driver> {
    const state = job.operators.length > 0 ? await StateStore.open(engine, checkpoint.statePath) : undefined;
    const driver = new Driver(job, checkpoint, engine, state, options);
    for (const source of job.sources) {
      const stored = checkpoint.metadata.schemas[source.name];
      if (stored !== undefined && !source.schema) source.useSchema(parseSchemaText(stored));
    }
    for (const { sink } of job.sinks) await sink.open(engine);
    await driver.checkSinksAgainstCommitLog();
    await driver.checkStateAgainstCommitLog();
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
    const start = this.clock.now();
    const times: PhaseTimes = { plan: 0, walCommit: 0, read: 0, toArrow: 0, ingest: 0, transform: 0, sink: 0, commit: 0 };
    let t = performance.now();
    const lap = (phase: keyof PhaseTimes) => {
      const now = performance.now();
      times[phase] += now - t;
      t = now;
    };

    // 1–2. Plan, and log the plan before reading anything (or take the pending batch's plan as logged).
    const pending = this.checkpoint.pendingBatch();
    let batchId: number;
    let entry: OffsetLogEntry;
    let latest: Map<string, Map<PartitionKey, bigint>> | undefined;
    // Resolves when the offset entry's rename is durable (its content is fsynced before any read); awaited
    // before the first write of the batch (state, late rows, sinks), so the directory fsync overlaps the read.
    let offsetLogDurable: Promise<void> = Promise.resolve();
    if (pending) {
      ({ batchId, entry } = pending);
      this.options.note?.(`recovering batch ${batchId}: re-running it with the ranges in its offset log`);
      lap('plan');
    } else {
      latest = await this.snapshotLatest();
      const planned = await this.plan(latest, runOptions, start);
      lap('plan');
      if (!planned) return undefined;
      batchId = (this.checkpoint.offsets.getLatest()?.batchId ?? -1) + 1;
      entry = { batchId, batchTime: runOptions.batchTime ?? start, watermarkMs: this.lastWatermark().watermarkMs, jobHash: this.job.def.jobHash, sources: planned.sources, ...(planned.drain ? { drain: true } : {}) };
      offsetLogDurable = this.checkpoint.offsets.addDeferringDirSync(batchId, entry).durable;
      lap('walCommit');
    }
    await this.options.afterStep?.('offsetLogWritten', batchId);

    // 3. Read every source's ranges into Arrow, and hand them to DuckDB.
    const ranges: Ranges = new Map(Object.entries(entry.sources).map(([name, rs]) => [name, rs.map(rangeFromJson)]));
    const read = new Map<string, SourceBatch>();
    for (const source of this.job.sources) {
      // No schema means the source never had a record: there is nothing to read, and its sinks have no input.
      if (!source.schema) continue;
      const batch = await source.read(ranges.get(source.name) ?? []);
      read.set(source.name, batch);
      times.read += batch.timings?.readMs ?? 0;
      times.toArrow += batch.timings?.decodeMs ?? 0;
    }
    t = performance.now();
    // While DuckDB works on this batch, sources may read and decode the next one as it would be planned now: only a
    // cache, which the next batch uses if it plans exactly those ranges (after logging them, as always).
    if (latest && !runOptions.uncapped) await prefetchNextBatch(this.job.sources, entry, latest, runOptions.upTo, this.options.caps ?? {});
    lap('plan');
    await this.options.afterStep?.('read', batchId);
    let statsMs = 0;
    // The columns loaded, and event-time facts read from the Arrow buffers before the load (they decide whether the
    // event-time query needs _topic and _partition).
    const loadedSchemas = new Map<string, arrow.Schema>();
    const arrowStats = new Map<string, EventTimeStats>();
    for (const [name, batch] of read) {
      const ets = this.job.eventTime.get(name);
      const t0 = performance.now();
      const stats = ets === undefined ? undefined : await this.arrowEventTimeStats(name, ets, entry.watermarkMs, batch.table);
      statsMs += performance.now() - t0;
      if (stats) arrowStats.set(name, stats);
      const keep = this.job.metadataColumns.get(name);
      // The event-time query (when the Arrow buffers cannot answer) groups by _topic and _partition.
      const load = keep === undefined ? batch.table : withoutUnreadMetadata(batch.table, ets === undefined || stats ? keep : new Set([...keep, '_topic', '_partition']));
      loadedSchemas.set(name, load.schema);
      await this.engine.exclusive((c) => ingestSourceBatch(c, name, batch, this.readyTables, load));
    }
    lap('ingest');
    times.ingest -= statsMs;
    times.transform += statsMs;
    await offsetLogDurable;
    lap('walCommit');

    // 4. Event time: late rows out, stateful operators folded in, state and watermark committed with the batch id.
    const { watermark, lateRows } = await this.transform(batchId, entry, read, arrowStats);
    lap('transform');
    await this.options.afterStep?.('stateCommitted', batchId);

    // 5–6. Sinks, each idempotent by batch id, then dead letters; then the commit log, after which the batch is
    // done. The commit entry's temp file is written and fsynced while the sinks run; it is renamed into place only
    // once they all succeeded (committedAt is when the commit was prepared, a few ms early).
    let sinkRows: Record<string, number> = {};
    let deadLetters = 0;
    const sinksDone = (async () => {
      sinkRows = await this.writeSinks(batchId, entry, read, times);
      t = performance.now();
      for (const [name, batch] of read) {
        if (batch.deadLetters.length === 0) continue;
        new DeadLetterWriter(this.job.deadLetterDirs.get(name)!, this.checkpoint.fsync).write(batchId, batch.deadLetters);
        deadLetters += batch.deadLetters.length;
      }
      lap('sink');
      await this.options.afterStep?.('sinksWritten', batchId);
    })();
    await this.checkpoint.commits.addAfter(batchId, { batchId, nextWatermarkMs: watermark.watermarkMs, committedAt: new Date(this.clock.now()).toISOString(), watermark }, sinksDone);
    lap('commit');
    await this.options.afterStep?.('commitLogWritten', batchId);

    // 7–8. Advisory source commits (lag tools), then housekeeping.
    for (const source of this.job.sources) {
      // The checkpoint is the truth, so a failure here never fails the batch.
      await source.commit?.(ranges.get(source.name) ?? []).catch((err: unknown) => this.options.note?.(`source '${source.name}': offset commit failed (advisory): ${errorMessage(err)}`));
    }
    this.checkpoint.purge(this.options.retainBatches ?? 100, this.options.purgeEvery ?? 10);
    await this.state?.purgeOutputs(this.job.operators, batchId);
    await this.publishCatalogIfNeeded();
    const state = this.state ? await this.state.stats(this.job.operators) : undefined;
    await this.publishStateSnapshot(false);
    lap('commit');

    const progress = buildProgress({
      job: this.job,
      checkpoint: this.checkpoint,
      batchId,
      batchTime: entry.batchTime,
      startedAt: start,
      previousStart: this.lastBatchStart,
      endedAt: this.clock.now(),
      ranges,
      latest,
      read,
      sinkRows,
      deadLetters,
      times,
      recovered: pending !== undefined,
      watermarkMs: watermark.watermarkMs,
      lateRows,
      state,
    });
    this.lastBatchStart = start;
    this.checkpoint.appendProgress(progress);
    // The batch is done with its source tables: DuckDB empties them while the next batch is planned and read.
    for (const [name, schema] of loadedSchemas) this.readyTables.prepare(this.engine, ident(name), schema);
    return progress;
  }

  /** Close sources and sinks and release the checkpoint. */
  async close(): Promise<void> {
    await this.readyTables.settled();
    await this.publishStateSnapshot(true).catch((err: unknown) => this.options.note?.(`state snapshot not published: ${errorMessage(err)}`));
    for (const { sink } of this.job.sinks) await sink.close().catch(() => undefined);
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

  private async plan(latest: Map<string, Map<PartitionKey, bigint>>, runOptions: RunOnceOptions, now: number): Promise<{ sources: Record<string, OffsetRangeJson[]>; drain: boolean } | undefined> {
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
    // Schemas are fixed before the offset log is written, so a replay decodes exactly as the first run did.
    for (const source of this.job.sources) {
      if (source.schema) continue;
      const ranges = planned[source.name]!;
      if (!ranges.some((r) => rangeSize(r) > 0n)) continue;
      const schema = await source.inferSchema(ranges);
      source.useSchema(schema);
      this.checkpoint.updateMetadata((m) => {
        m.schemas[source.name] = schemaToText(schema);
      });
      this.options.note?.(`source '${source.name}': inferred columns ${schemaToText(schema)} (fixed for this checkpoint)`);
    }
    return { sources: Object.fromEntries(Object.entries(planned).map(([name, rs]) => [name, rs.map(rangeToJson)])), drain };
  }

  /**
   * Split each source's rows at the batch's watermark, fold the on-time ones into the stateful operators, and
   * commit state, outputs, batch id and next watermark in one transaction. A replay of a batch whose state was
   * committed takes the stored result instead of folding the rows in twice.
   */
  private async transform(batchId: number, entry: OffsetLogEntry, read: Map<string, SourceBatch>, arrowStats: ReadonlyMap<string, EventTimeStats>): Promise<{ watermark: WatermarkState; lateRows: number }> {
    const previous = this.checkpoint.commits.get(batchId - 1)?.watermark ?? INITIAL_WATERMARK;
    const wN = entry.watermarkMs;
    const batchMax = new Map<string, Map<string, number>>();
    let lateRows = 0;
    for (const name of read.keys()) {
      const ets = this.job.eventTime.get(name);
      const onTime = ets ? onTimeSql(ets, wN) : 'true';
      if (ets) {
        const { maxima, late } = arrowStats.get(name) ?? (await queryEventTimeStats(this.engine, name, ets, wN));
        batchMax.set(name, maxima);
        lateRows += late;
        const latePath = this.job.lateDataPaths.get(name);
        if (latePath && late > 0) {
          await this.engine.run(`CREATE OR REPLACE TEMP TABLE __ds_late AS SELECT * FROM ${ident(name)} WHERE NOT (${onTime})`);
          const sink = new JsonlSink(`${name}_late`, latePath);
          await sink.open(this.engine);
          await sink.addBatch({ batchId, batchTime: entry.batchTime, engine: this.engine, relation: '__ds_late', numRows: late, fsync: this.checkpoint.fsync });
        }
      }
      // A view, not a copy: operators read the on-time rows once or twice, and copying every column of the batch
      // (strings included) cost more than those reads.
      if (this.state) await this.engine.run(`CREATE OR REPLACE TEMP VIEW ${onTimeTable(name)} AS SELECT * FROM ${ident(name)} WHERE ${onTime}`);
    }
    if (!this.state) return { watermark: advanceWatermark(previous, this.job.watermarks, batchMax, entry.batchTime, entry.drain), lateRows };

    const meta = await this.state.meta();
    if (meta?.batchId === batchId) return { watermark: (meta.info['watermark'] as WatermarkState | undefined) ?? previous, lateRows };
    this.checkStateMeta(meta, batchId);
    const watermark = advanceWatermark(previous, this.job.watermarks, batchMax, entry.batchTime, entry.drain);
    const hi = watermark.watermarkMs === null ? `'-infinity'::TIMESTAMP` : watermark.watermarkMs >= END_OF_TIME_MS ? `'infinity'::TIMESTAMP` : timestampSql(watermark.watermarkMs);
    await this.engine.run(`CREATE OR REPLACE TEMP TABLE ${BOUNDS} AS SELECT ${wN === null ? `'-infinity'::TIMESTAMP` : timestampSql(wN)} AS lo, ${hi} AS hi`);
    await this.state.commitBatch(batchId, { watermark }, async (exec) => {
      for (const op of this.job.operators) {
        if (op.streams.every((s) => read.has(s))) await op.process(exec, batchId);
      }
    });
    return { watermark, lateRows };
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
        const [expr] = (await parseSelect(this.engine, `SELECT (${ets})`))['select_list'] as TreeNode[];
        const names = expr?.['class'] === 'COLUMN_REF' ? (expr['column_names'] as string[]) : [];
        if (names.length === 1) column = names[0];
      } catch {
        column = undefined; // the query path reports whatever is wrong with the expression
      }
      this.eventTimeColumns.set(name, column);
    }
    return this.eventTimeColumns.get(name);
  }

  private async writeSinks(batchId: number, entry: OffsetLogEntry, read: Map<string, SourceBatch>, times: PhaseTimes): Promise<Record<string, number>> {
    const sinkRows: Record<string, number> = {};
    for (const s of this.job.sinks) {
      let t = performance.now();
      if (s.plan.kind === 'stateless' && s.mode === 'append' && s.sink.addQuery) {
        // Straight from the query to the sink: no temp table holding a copy of the batch's rows.
        if (!read.has(s.plan.source)) continue;
        sinkRows[s.def.name] = await s.sink.addQuery({ batchId, batchTime: entry.batchTime, engine: this.engine, query: s.def.query, fsync: this.checkpoint.fsync });
        times.sink += performance.now() - t;
        await this.options.afterStep?.('sinkWritten', batchId, s.def.name);
        continue;
      }
      const created = await this.sinkRelation(s, batchId, read);
      if (!created) continue;
      const { relation, numRows } = created;
      times.transform += performance.now() - t;
      t = performance.now();
      await s.sink.addBatch({
        batchId,
        batchTime: entry.batchTime,
        engine: this.engine,
        relation,
        numRows,
        mode: s.mode,
        keyColumns: s.plan.kind === 'stateful' ? s.plan.operator.keyColumns : [],
        fsync: this.checkpoint.fsync,
      });
      sinkRows[s.def.name] = numRows;
      times.sink += performance.now() - t;
      await this.options.afterStep?.('sinkWritten', batchId, s.def.name);
    }
    return sinkRows;
  }

  /**
   * A temp table with exactly this batch's rows for the sink and its row count, or undefined when the sink has
   * no input yet. The count is the one CREATE TABLE AS reports (no second count(*) query per batch).
   */
  private async sinkRelation(s: CompiledSink, batchId: number, read: Map<string, SourceBatch>): Promise<{ relation: string; numRows: number } | undefined> {
    const relation = ident(`__sink_${s.def.name}`);
    const create = async (query: string) => {
      const [row] = await this.engine.all(`CREATE OR REPLACE TEMP TABLE ${relation} AS ${query}`);
      if (row?.['Count'] !== undefined) return { relation, numRows: Number(row['Count']) };
      const [counted] = await this.engine.all(`SELECT count(*)::BIGINT AS n FROM ${relation}`);
      return { relation, numRows: Number(counted?.['n'] ?? 0) };
    };
    if (s.plan.kind === 'stateless') {
      if (!read.has(s.plan.source)) return undefined;
      return create(s.def.query);
    }
    try {
      return await create(`SELECT * EXCLUDE (__ds_batch) FROM ${s.plan.operator.outputTable} WHERE __ds_batch = ${batchId}`);
    } catch (err) {
      if (/does not exist/.test(errorMessage(err))) return undefined; // the operator has not seen data yet
      throw err;
    }
  }

  /** The state must be that of the previous batch (a fresh state file was vetted at start). */
  private checkStateMeta(meta: StateMeta | undefined, batchId: number): void {
    if (meta !== undefined && meta.batchId !== batchId - 1) {
      throw internalError(`state ${this.checkpoint.statePath} is at batch ${meta.batchId}, but batch ${batchId} needs the state of batch ${batchId - 1}`);
    }
  }

  /** State must not be behind the commit log (a cut WAL tail loses a committed transaction: DESIGN §11). */
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
   * committed transaction (DESIGN §11) and replaying would not restore it.
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
   * Parquet (DESIGN §7). Views read their glob at query time: it is republished only while some view still waits
   * for its first file.
   */
  private async publishCatalogIfNeeded(): Promise<void> {
    const catalog = this.job.catalog;
    if (!catalog || (this.catalogPublished && this.catalogPending === 0)) return;
    const result = await publishCatalog(catalog.path, catalog.views);
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
