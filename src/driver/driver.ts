import { performance } from 'node:perf_hooks';
import { Checkpoint, type OffsetLogEntry } from '../checkpoint/checkpoint.js';
import { errorMessage, userError } from '../errors.js';
import { createTableFromArrow } from '../arrow/arrow-to-duckdb.js';
import { endOffsets, planBatch, type BatchCaps } from '../plan/plan-batch.js';
import { rangeFromJson, rangeSize, rangeToJson, type OffsetRange, type PartitionKey } from '../plan/offset-range.js';
import { parseSchemaText, schemaToText } from '../source/schema.js';
import type { SourceBatch } from '../source/source.js';
import { DeadLetterWriter } from '../sink/dead-letter-writer.js';
import { publishCatalog } from '../sink/notebook-catalog.js';
import { ident, type Engine } from '../sql/engine.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { CompiledJob } from './compile-job.js';
import { buildProgress, type BatchProgress, type PhaseTimes } from './progress.js';

/** The points between protocol steps where a test can inject a crash. */
export type ProtocolStep = 'offsetLogWritten' | 'read' | 'sinkWritten' | 'sinksWritten' | 'commitLogWritten';

export interface DriverOptions {
  readonly clock?: Clock;
  readonly caps?: BatchCaps;
  /** How many batches of offset/commit log to keep (default 100). */
  readonly retainBatches?: number;
  /** Notes for the user (stderr in the CLI). */
  readonly note?: (message: string) => void;
  /** Test hook: called after each protocol step; throwing simulates a crash there. */
  readonly afterStep?: (step: ProtocolStep, batchId: number, detail?: string) => void | Promise<void>;
}

export interface RunOnceOptions {
  /** Read no further than these offsets (available-now: what was available at start). */
  readonly upTo?: ReadonlyMap<string, ReadonlyMap<PartitionKey, bigint>>;
  /** Ignore the batch caps (trigger once). */
  readonly uncapped?: boolean;
  /** The trigger time this batch belongs to (default: now); its delay to the start is schedulingDelayMs. */
  readonly batchTime?: number;
}

/**
 * The micro-batch loop (DESIGN §1–§2). `runOnce` is the one place where the protocol's order lives:
 * plan → offset log → read → transform → sinks → commit log → source commit → purge.
 */
export class Driver {
  private readonly clock: Clock;
  private lastBatchStart: number | undefined;
  private catalogPublished = false;
  private catalogPending = 0;

  private constructor(
    readonly job: CompiledJob,
    readonly checkpoint: Checkpoint,
    private readonly engine: Engine,
    private readonly options: DriverOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Open sinks, restore fixed schemas, cross-check sinks against the commit log. */
  static async start(job: CompiledJob, checkpoint: Checkpoint, engine: Engine, options: DriverOptions = {}): Promise<Driver> {
    const driver = new Driver(job, checkpoint, engine, options);
    for (const source of job.sources) {
      const stored = checkpoint.metadata.schemas[source.name];
      if (stored !== undefined && !source.schema) source.useSchema(parseSchemaText(stored));
    }
    for (const { sink } of job.sinks) await sink.open(engine);
    await driver.checkSinksAgainstCommitLog();
    await driver.publishCatalogIfNeeded();
    return driver;
  }

  /** A batch id is pending when its offsets were logged but its commit was not (a crash in between). */
  get pendingBatchId(): number | undefined {
    return this.checkpoint.pendingBatch()?.batchId;
  }

  /** Latest offsets of every source now: the bound of an available-now run. */
  async snapshotLatest(): Promise<Map<string, Map<PartitionKey, bigint>>> {
    const out = new Map<string, Map<PartitionKey, bigint>>();
    for (const s of this.job.sources) out.set(s.name, await s.latestOffsets());
    return out;
  }

  /**
   * Run one batch: the pending one if the last run crashed inside a batch, else the next planned one.
   * Returns undefined when there is no new data (empty batches are skipped, not logged).
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

    const pending = this.checkpoint.pendingBatch();
    let batchId: number;
    let entry: OffsetLogEntry;
    let latest: Map<string, Map<PartitionKey, bigint>> | undefined;
    if (pending) {
      ({ batchId, entry } = pending);
      this.options.note?.(`recovering batch ${batchId}: re-running it with the ranges in its offset log`);
      lap('plan');
    } else {
      latest = await this.snapshotLatest();
      const planned = await this.plan(latest, runOptions);
      lap('plan');
      if (!planned) return undefined;
      batchId = (this.checkpoint.offsets.getLatest()?.batchId ?? -1) + 1;
      entry = { batchId, batchTime: runOptions.batchTime ?? start, watermarkMs: null, jobHash: this.job.def.jobHash, sources: planned };
      this.checkpoint.offsets.add(batchId, entry);
      lap('walCommit');
    }
    await this.options.afterStep?.('offsetLogWritten', batchId);

    const ranges = new Map(Object.entries(entry.sources).map(([name, rs]) => [name, rs.map(rangeFromJson)]));
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
    await this.options.afterStep?.('read', batchId);
    for (const [name, batch] of read) {
      await this.engine.exclusive((c) => createTableFromArrow(c, ident(name), batch.table, { temporary: true, replace: true }));
    }
    lap('ingest');

    const sinkRows: Record<string, number> = {};
    for (const s of this.job.sinks) {
      if (!read.has(s.source)) continue;
      const relation = ident(`__sink_${s.def.name}`);
      await this.engine.run(`CREATE OR REPLACE TEMP TABLE ${relation} AS ${s.def.query}`);
      const [row] = await this.engine.all(`SELECT count(*)::BIGINT AS n FROM ${relation}`);
      const numRows = Number(row?.['n'] ?? 0);
      lap('transform');
      await s.sink.addBatch({ batchId, batchTime: entry.batchTime, engine: this.engine, relation, numRows });
      sinkRows[s.def.name] = numRows;
      lap('sink');
      await this.options.afterStep?.('sinkWritten', batchId, s.def.name);
      t = performance.now();
    }
    let deadLetters = 0;
    for (const [name, batch] of read) {
      if (batch.deadLetters.length === 0) continue;
      new DeadLetterWriter(this.job.deadLetterDirs.get(name)!).write(batchId, batch.deadLetters);
      deadLetters += batch.deadLetters.length;
    }
    lap('sink');
    await this.options.afterStep?.('sinksWritten', batchId);

    this.checkpoint.commits.add(batchId, { batchId, nextWatermarkMs: null, committedAt: new Date(this.clock.now()).toISOString() });
    lap('commit');
    await this.options.afterStep?.('commitLogWritten', batchId);
    for (const source of this.job.sources) {
      // Advisory (lag tools): the checkpoint is the truth, so a failure here never fails the batch.
      await source.commit?.(ranges.get(source.name) ?? []).catch((err: unknown) => this.options.note?.(`source '${source.name}': offset commit failed (advisory): ${errorMessage(err)}`));
    }
    this.checkpoint.purge(this.options.retainBatches ?? 100);
    await this.publishCatalogIfNeeded();
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
    });
    this.lastBatchStart = start;
    this.checkpoint.appendProgress(progress);
    return progress;
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

  /** Close sources and sinks and release the checkpoint. */
  async close(): Promise<void> {
    for (const { sink } of this.job.sinks) await sink.close().catch(() => undefined);
    for (const source of this.job.sources) await source.close().catch(() => undefined);
    this.checkpoint.close();
  }

  private async plan(latest: Map<string, Map<PartitionKey, bigint>>, runOptions: RunOnceOptions): Promise<Record<string, ReturnType<typeof rangeToJson>[]> | undefined> {
    const last = this.checkpoint.offsets.getLatest()?.value;
    const caps = runOptions.uncapped ? {} : (this.options.caps ?? {});
    const planned: Record<string, OffsetRange[]> = {};
    let hasData = false;
    for (const source of this.job.sources) {
      const committed = endOffsets((last?.sources[source.name] ?? []).map(rangeFromJson));
      let available = latest.get(source.name)!;
      const bound = runOptions.upTo?.get(source.name);
      if (bound) available = new Map([...available].map(([k, v]) => [k, bound.has(k) && bound.get(k)! < v ? bound.get(k)! : v]));
      const starting = last === undefined && source.startingPosition === 'latest' ? available : await source.earliestOffsets();
      const plan = planBatch(committed, available, starting, caps);
      planned[source.name] = plan.ranges;
      hasData ||= plan.hasData;
    }
    if (!hasData) return undefined;
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
    return Object.fromEntries(Object.entries(planned).map(([name, rs]) => [name, rs.map(rangeToJson)]));
  }

  /**
   * A sink that records its last batch id must not be behind the commit log: if it is, its own storage lost a
   * committed transaction (DESIGN §11) and replaying would not restore it.
   */
  private async checkSinksAgainstCommitLog(): Promise<void> {
    const committed = this.checkpoint.commits.getLatest()?.batchId;
    if (committed === undefined) return;
    for (const { sink } of this.job.sinks) {
      const last = await sink.lastBatchId?.();
      if (last === undefined && !sink.lastBatchId) continue;
      if (last === undefined || last < committed) {
        throw userError(
          `sink '${sink.name}' has batches up to ${last ?? 'none'} but the checkpoint committed batch ${committed}: the sink's storage lost committed data`,
          'restore the sink\'s file from a backup, or start over with a new --checkpoint and an empty sink',
        );
      }
    }
  }
}

