import { userError } from '../errors.js';
import { ingestSourceBatch } from '../arrow/ingest-source-batch.js';
import type { Checkpoint, OffsetLogEntry } from '../checkpoint/checkpoint.js';
import { partitionKey, rangeFromJson, type OffsetRange } from '../plan/offset-range.js';
import { ident, type Engine } from '../sql/engine.js';
import { BOUNDS, onTimeTable, type Exec, type StatefulOperator } from '../stateful/operator.js';
import type { StateMeta } from '../stateful/state-store.js';
import type { CompiledJob } from './compile-job.js';
import { onTimeSql, timestampSql } from './event-time-query.js';
import { END_OF_TIME_MS, type WatermarkState } from './watermark.js';

/** Records per partition in one step of the history before the oldest offset entry (bounds the memory a step takes). */
const HISTORY_STEP = 100_000n;

/** One step of a rebuild: the ranges to read per source, the watermark they run with and the one they leave. */
interface RebuildStep {
  readonly batchId: number;
  readonly ranges: ReadonlyMap<string, readonly OffsetRange[]>;
  readonly lo: number | null;
  readonly hi: number | null;
}

export interface RebuildInputs {
  readonly job: CompiledJob;
  readonly checkpoint: Checkpoint;
  readonly engine: Engine;
  /** The operators to rebuild: their state tables are empty (dropped in the same transaction). */
  readonly operators: readonly StatefulOperator[];
  /** The state's batch id and watermark (undefined: no batch ever committed state). */
  readonly meta: StateMeta | undefined;
}

/**
 * Recompute operators' state from the sources' history (`--rebuild-state`, docs/architecture.md#job-evolution),
 * inside the caller's state transaction and without writing output: the batches the offset log still holds are
 * re-run with the ranges and watermarks they ran with (the same on-time rows as then), and the history before the
 * oldest entry, from the sources' earliest retained offsets, runs first in steps with the watermark of that entry.
 * So the state is what a clean run of the edited query over the same batches would hold. Returns how many records
 * were folded in.
 */
export async function rebuildState(r: RebuildInputs, exec: Exec): Promise<{ records: number; steps: number }> {
  const lastCommitted = r.checkpoint.commits.getLatest()?.batchId;
  const last = Math.max(r.meta?.batchId ?? -1, lastCommitted ?? -1);
  if (last < 0) return { records: 0, steps: 0 };
  const streams = [...new Set(r.operators.flatMap((op) => op.streams))];
  let records = 0;
  let steps = 0;
  for await (const step of rebuildSteps(r, streams, last)) {
    records += await runStep(r, step, streams, exec);
    steps += 1;
  }
  for (const op of r.operators) await exec(`DELETE FROM ${op.outputTable} WHERE __ds_batch <= ${lastCommitted ?? -1}`).catch(() => undefined);
  return { records, steps };
}

async function* rebuildSteps(r: RebuildInputs, streams: readonly string[], last: number): AsyncGenerator<RebuildStep> {
  const oldest = r.checkpoint.offsets.oldestBatchId;
  const first = oldest === undefined ? undefined : r.checkpoint.offsets.get(oldest);
  if (oldest === undefined || !first) return;
  if (oldest > 0) yield* historySteps(r, streams, first);
  for (let b = oldest; b <= last; b++) {
    const entry = r.checkpoint.offsets.get(b);
    if (!entry)
      throw userError(
        `cannot rebuild state: the offset entry of batch ${b} is missing from ${r.checkpoint.offsets.dir}`,
        'use --reset-state or a new checkpoint',
      );
    yield { batchId: b, ranges: rangesOf(entry, streams), lo: entry.watermarkMs, hi: watermarkAfter(r, b) };
  }
}

/** The history before the oldest offset entry still kept: from each partition's earliest offset to where that entry starts. */
async function* historySteps(r: RebuildInputs, streams: readonly string[], first: OffsetLogEntry): AsyncGenerator<RebuildStep> {
  const prefix = new Map<string, OffsetRange[]>();
  for (const name of streams) {
    const source = r.job.sources.find((s) => s.name === name)!;
    if (source.startingPosition === 'latest') {
      throw userError(
        `cannot rebuild state from source '${name}': it starts at its latest offsets, and the offset entries of its first batches were purged, so where the job started is not known`,
        'use --reset-state, or a new checkpoint',
      );
    }
    const earliest = await source.earliestOffsets();
    const ranges: OffsetRange[] = [];
    for (const json of first.sources[name] ?? []) {
      const kept = rangeFromJson(json);
      const from = earliest.get(partitionKey(kept)) ?? kept.from;
      if (from > kept.from) {
        throw userError(
          `cannot rebuild state from source '${name}': ${partitionKey(kept)} no longer holds offsets before ${from}, and the job read from ${kept.from} on (retention or a purge removed them)`,
          'use --reset-state (the state starts empty from the current offsets), or a new checkpoint',
        );
      }
      if (from < kept.from) ranges.push({ ...kept, from, until: kept.from });
    }
    prefix.set(name, ranges);
  }
  for (let start = 0n; ; start += HISTORY_STEP) {
    const ranges = new Map<string, OffsetRange[]>();
    let any = false;
    for (const [name, rs] of prefix) {
      const slices = rs.map((x) => ({ ...x, from: min(x.from + start, x.until), until: min(x.from + start + HISTORY_STEP, x.until) }));
      any ||= slices.some((x) => x.until > x.from);
      ranges.set(name, slices);
    }
    if (!any) return;
    yield { batchId: -1, ranges, lo: null, hi: first.watermarkMs };
  }
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

function rangesOf(entry: OffsetLogEntry, streams: readonly string[]): Map<string, OffsetRange[]> {
  return new Map(streams.map((s) => [s, (entry.sources[s] ?? []).map(rangeFromJson)]));
}

/** The watermark batch `b` left: from its commit entry, or for a batch whose state committed but not its sinks, from the state. */
function watermarkAfter(r: RebuildInputs, b: number): number | null {
  const commit = r.checkpoint.commits.get(b);
  if (commit) return commit.nextWatermarkMs;
  return r.meta?.batchId === b ? ((r.meta.info['watermark'] as WatermarkState | undefined)?.watermarkMs ?? null) : null;
}

const boundSql = (ms: number | null) => (ms === null ? `'-infinity'::TIMESTAMP` : ms >= END_OF_TIME_MS ? `'infinity'::TIMESTAMP` : timestampSql(ms));

/** Load the step's rows, leave its on-time rows in the views operators read, and fold them in. */
async function runStep(r: RebuildInputs, step: RebuildStep, streams: readonly string[], exec: Exec): Promise<number> {
  const loaded = new Set<string>();
  let records = 0;
  for (const name of streams) {
    const source = r.job.sources.find((s) => s.name === name)!;
    if (!source.schema) continue; // never had a record: operators over it have not run
    const batch = await source.read(step.ranges.get(name) ?? []);
    await r.engine.exclusive((c) => ingestSourceBatch(c, name, batch));
    const ets = r.job.eventTime.get(name);
    await exec(`CREATE OR REPLACE TEMP VIEW ${onTimeTable(name)} AS SELECT * FROM ${ident(name)} WHERE ${ets ? onTimeSql(ets, step.lo) : 'true'}`);
    loaded.add(name);
    records += batch.table.numRows;
  }
  await exec(`CREATE OR REPLACE TEMP TABLE ${BOUNDS} AS SELECT ${boundSql(step.lo)} AS lo, ${boundSql(step.hi)} AS hi`);
  for (const op of r.operators) if (op.streams.every((s) => loaded.has(s))) await op.process(exec, step.batchId);
  return records;
}
