import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CorruptFileError, userError } from '../errors.js';
import type { OffsetRangeJson } from '../plan/offset-range.js';
import { CheckpointLock } from './lock.js';
import { MetadataLog } from './metadata-log.js';
import { readVersioned, writeVersioned } from './versioned-file.js';
import { fsyncDir } from '../util/atomic-file.js';

/** `offsets/<batchId>`: what a batch reads, written before it reads anything. */
export interface OffsetLogEntry {
  batchId: number;
  /** ms since the epoch */
  batchTime: number;
  /** The watermark this batch runs with (ms), null before any event time was seen. */
  watermarkMs: number | null;
  /** A batch with no new data that moves the watermark to the end of time (`--drain`). */
  drain?: boolean;
  jobHash: string;
  /** Per source name, one range per partition (empty ranges included: they carry the partition's position). */
  sources: Record<string, OffsetRangeJson[]>;
}

/** `commits/<batchId>`: the batch's outputs are durable. */
export interface CommitLogEntry {
  batchId: number;
  nextWatermarkMs: number | null;
  committedAt: string;
  /** What the next watermark is computed from (max event time and last data time per source). */
  watermark?: { watermarkMs: number | null; sources: Record<string, Record<string, { maxEventTimeMs: number; lastDataAtMs: number }>> };
}

/** What of the job decides whether an old checkpoint still applies to it. */
export interface JobFingerprint {
  /** Sources (names, connectors, paths, formats): a change here makes the stored offsets meaningless. */
  sourcesHash: string;
  /** The whole job text, normalised. */
  jobHash: string;
}

export interface CheckpointMetadata {
  formatVersion: 1;
  jobId: string;
  jobName: string;
  created: string;
  sourcesHash: string;
  jobHash: string;
  /** Value schemas inferred on first data, fixed for the life of the checkpoint (source name → schema text). */
  schemas: Record<string, string>;
  /** The first batch id run with stateful operators (state.duckdb must hold every batch from there on). */
  statefulSince?: number;
  /** The job's sources, so that `duckstream status` can measure lag without the job file. */
  sources?: { name: string; options: Record<string, string> }[];
}

export interface OpenCheckpointOptions {
  jobName: string;
  fingerprint: JobFingerprint;
  /** Accept a job whose sources differ from the checkpoint's (the user says offsets still apply). */
  allowSourceChange?: boolean;
  /** Called with a note when the job changed in a compatible way. */
  onNote?: (note: string) => void;
  /**
   * fsync offset and commit log entries (default true). false keeps exactly-once across process crashes
   * (SIGKILL: renames are atomic and the page cache survives the process) but not across power cuts.
   */
  fsync?: boolean;
}

/**
 * The checkpoint directory of one job (docs/architecture.md#checkpoint-layout). Opening it takes the lock: one driver per checkpoint.
 */
export class Checkpoint {
  readonly offsets: MetadataLog<OffsetLogEntry>;
  readonly commits: MetadataLog<CommitLogEntry>;
  private metadataValue: CheckpointMetadata;
  private progressFd: number | undefined;
  private purging: Promise<void> = Promise.resolve();
  private readonly fingerprint: JobFingerprint;
  private readonly onNote: ((note: string) => void) | undefined;

  private constructor(
    readonly dir: string,
    private readonly lock: CheckpointLock,
    metadata: CheckpointMetadata,
    /** Whether checkpoint entries (and, through the driver, sink outputs) are fsynced. */
    readonly fsync: boolean,
    options: OpenCheckpointOptions,
  ) {
    this.fingerprint = options.fingerprint;
    this.onNote = options.onNote;
    this.offsets = new MetadataLog(join(dir, 'offsets'), { fsync });
    this.commits = new MetadataLog(join(dir, 'commits'), { fsync });
    // We hold the lock: any temp file here is from a write that a crash interrupted.
    this.offsets.removeStrayTemps();
    this.commits.removeStrayTemps();
    removeStrayTemps(dir);
    // A process killed between a rename and its directory fsync left an entry that is visible but not yet
    // durable; a recovered batch builds on it, so make it durable once here.
    if (fsync) for (const log of [this.offsets, this.commits]) fsyncDir(log.dir);
    this.metadataValue = metadata;
  }

  static open(dirArg: string, options: OpenCheckpointOptions): Checkpoint {
    const dir = resolve(dirArg);
    mkdirSync(dir, { recursive: true });
    const lock = CheckpointLock.acquire(join(dir, 'lock'));
    try {
      const metadata = loadOrCreateMetadata(dir, options);
      return new Checkpoint(dir, lock, metadata, options.fsync ?? true, options);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  get metadata(): Readonly<CheckpointMetadata> {
    return this.metadataValue;
  }

  get statePath(): string {
    return join(this.dir, 'state.duckdb');
  }

  /**
   * Record the job as it is now, once the driver has checked that the checkpoint still applies to it (stateful
   * operators included: docs/architecture.md#job-evolution). Opening writes nothing of the job, so a refused
   * start leaves the checkpoint as it was.
   */
  acceptJob(): void {
    const { jobHash, sourcesHash } = this.fingerprint;
    if (this.metadataValue.jobHash === jobHash && this.metadataValue.sourcesHash === sourcesHash) return;
    if (this.metadataValue.jobHash !== jobHash) {
      this.onNote?.(
        'job text changed since the checkpoint was written: stateless sinks continue from the stored offsets, stateful sinks whose state still fits keep it',
      );
    }
    this.updateMetadata((m) => {
      m.jobHash = jobHash;
      m.sourcesHash = sourcesHash;
    });
  }

  updateMetadata(change: (m: CheckpointMetadata) => void): void {
    const next = structuredClone(this.metadataValue);
    change(next);
    writeVersioned(join(this.dir, 'metadata.json'), next);
    this.metadataValue = next;
  }

  /**
   * One line per batch; a crash can leave a torn last line, which readers report and pass over. Never fsynced:
   * progress is observability, the offset and commit logs are the truth, so a line lost in a power cut costs
   * nothing but the line. The file stays open (O_APPEND) for the life of the checkpoint.
   */
  appendProgress(record: object): void {
    this.progressFd ??= openSync(join(this.dir, 'progress.ndjson'), 'a');
    writeSync(this.progressFd, `${JSON.stringify(record)}\n`);
  }

  /** The batch whose offsets were logged but whose commit was not: it must be re-run with the same ranges. */
  pendingBatch(): { batchId: number; entry: OffsetLogEntry } | undefined {
    const latest = this.offsets.getLatest();
    if (!latest) return undefined;
    const committed = this.commits.getLatest();
    if (committed && committed.batchId >= latest.batchId) return undefined;
    return { batchId: latest.batchId, entry: latest.value };
  }

  /**
   * Drop log entries older than the last `retain` batches (docs/architecture.md#the-batch-protocol step 7). With `every` > 1 it only acts once
   * `every` entries are due, so the unlinks come in groups instead of two per batch. The unlinks run in the
   * background (`settled` waits for them): nothing reads below the threshold, and a crash leaves old entries
   * that the next purge removes.
   */
  purge(retain: number, every = 1): void {
    const latest = this.commits.getLatest();
    if (!latest) return;
    const threshold = latest.batchId - retain + 1;
    const oldest = this.offsets.oldestBatchId ?? threshold;
    if (threshold - oldest < every) return;
    const offsets = this.offsets.purge(threshold);
    const commits = this.commits.purge(threshold);
    this.purging = Promise.all([this.purging, offsets, commits]).then(() => undefined);
    this.purging.catch(() => undefined); // reported by settled(), not as an unhandled rejection
  }

  /** Resolves when background purges are done (and rejects with their error). */
  settled(): Promise<void> {
    return this.purging;
  }

  close(): void {
    if (this.progressFd !== undefined) closeSync(this.progressFd);
    this.progressFd = undefined;
    this.lock.release();
  }
}

function loadOrCreateMetadata(dir: string, options: OpenCheckpointOptions): CheckpointMetadata {
  const path = join(dir, 'metadata.json');
  if (!existsSync(path)) {
    const metadata: CheckpointMetadata = {
      formatVersion: 1,
      jobId: randomUUID(),
      jobName: options.jobName,
      created: new Date().toISOString(),
      sourcesHash: options.fingerprint.sourcesHash,
      jobHash: options.fingerprint.jobHash,
      schemas: {},
    };
    writeVersioned(path, metadata);
    return metadata;
  }
  const metadata = readVersioned<CheckpointMetadata>(path);
  if (metadata.formatVersion !== 1) throw new CorruptFileError(path, `unsupported checkpoint format ${String(metadata.formatVersion)}`);
  if (metadata.sourcesHash !== options.fingerprint.sourcesHash && !options.allowSourceChange) {
    throw userError(
      `checkpoint ${dir} belongs to a job with other sources (job '${metadata.jobName}', created ${metadata.created}); its offsets do not apply to this job`,
      'run with a new --checkpoint directory to start over, or pass --allow-source-change if the sources are really the same data',
    );
  }
  return metadata;
}

/** Read progress.ndjson; a torn final line (crash mid-append) is reported, not returned. */
export function readProgress(dir: string): { records: Record<string, unknown>[]; tornTail: boolean } {
  const path = join(dir, 'progress.ndjson');
  if (!existsSync(path)) return { records: [], tornTail: false };
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  const last = lines.pop();
  const records: Record<string, unknown>[] = [];
  lines.forEach((line, i) => {
    if (line.length === 0) return;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      throw new CorruptFileError(path, `line ${i + 1} is not valid JSON`);
    }
  });
  return { records, tornTail: last !== undefined && last.length > 0 };
}

/**
 * Temp files a killed driver left in the checkpoint directory itself: `.metadata.json.<pid>.tmp` (atomic writes) and
 * `state-snapshot.duckdb.<pid>.tmp` with its `.wal` (snapshot copies, the size of the state). Only the lock holder
 * calls this, so none of them is still being written.
 */
function removeStrayTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    if ((name.startsWith('.') && name.endsWith('.tmp')) || /\.\d+\.tmp(\.wal)?$/.test(name)) rmSync(join(dir, name), { force: true });
  }
}
