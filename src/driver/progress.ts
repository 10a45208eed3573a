import type { Checkpoint } from '../checkpoint/checkpoint.js';
import { parsePartitionKey, partitionKey, rangeSize, type OffsetRange, type PartitionKey } from '../plan/offset-range.js';
import type { SourceBatch } from '../source/source.js';
import type { CompiledJob } from './compile-job.js';

export interface PhaseTimes {
  plan: number;
  walCommit: number;
  read: number;
  toArrow: number;
  ingest: number;
  transform: number;
  sink: number;
  commit: number;
}

export interface SourceProgress {
  description: string;
  /** partition → offset, as decimal strings */
  startOffset: Record<string, string>;
  endOffset: Record<string, string>;
  /** The source's end when the batch was planned (absent for a recovered batch). */
  latestOffset: Record<string, string> | null;
  /** Records still behind latestOffset after this batch. */
  lag: string | null;
  numInputRows: number;
  numDeadLetterRows: number;
  /** Ranges the source had lost before they were read (only with fail_on_data_loss = false). */
  lostRanges?: { topic: string; partition: number; from: string; until: string }[];
  /**
   * 'used': the source had read and decoded this batch ahead, while the previous batch ran (durationMs.read and
   * toArrow are then only what this batch still waited for it); 'discarded': it had read other ranges ahead.
   */
  prefetch?: 'used' | 'discarded';
}

/** One line of progress.ndjson: Spark's StreamingQueryProgress names where they exist (docs/architecture.md#observability). */
export interface BatchProgress {
  id: string;
  name: string;
  batchId: number;
  timestamp: string;
  batchTime: number;
  numInputRows: number;
  inputRowsPerSecond: number;
  processedRowsPerSecond: number;
  durationMs: PhaseTimes & { triggerExecution: number };
  schedulingDelayMs: number;
  sources: SourceProgress[];
  sinks: { description: string; numOutputRows: number }[];
  watermark: string | null;
  stateRows: number;
  stateBytes: number;
  /** Rows and (estimated) bytes kept per stateful operator (sink). */
  stateOperators: { sink: string; operator: string; rows: number; bytes: number }[];
  numRowsDroppedByWatermark: number;
  numDeadLetterRows: number;
  recovered: boolean;
}

export interface ProgressInput {
  job: CompiledJob;
  checkpoint: Checkpoint;
  batchId: number;
  batchTime: number;
  startedAt: number;
  previousStart: number | undefined;
  endedAt: number;
  ranges: ReadonlyMap<string, OffsetRange[]>;
  latest: ReadonlyMap<string, ReadonlyMap<PartitionKey, bigint>> | undefined;
  read: ReadonlyMap<string, SourceBatch>;
  sinkRows: Record<string, number>;
  deadLetters: number;
  watermarkMs: number | null;
  lateRows: number;
  state: { rows: number; bytes: number; operators: { sink: string; operator: string; rows: number; bytes: number }[] } | undefined;
  times: PhaseTimes;
  recovered: boolean;
}

export function buildProgress(p: ProgressInput): BatchProgress {
  const round = (x: number) => Math.round(x * 100) / 100;
  const sources = p.job.sources.map((s): SourceProgress => {
    const ranges = p.ranges.get(s.name) ?? [];
    const latest = p.latest?.get(s.name);
    const label = (r: OffsetRange) => (ranges.every((x) => x.topic === r.topic) ? String(r.partition) : partitionKey(r));
    let lag: bigint | null = null;
    if (latest) {
      lag = 0n;
      for (const r of ranges) {
        const end = latest.get(partitionKey(r));
        if (end !== undefined && end > r.until) lag += end - r.until;
      }
    }
    const batch = p.read.get(s.name);
    return {
      description: s.name,
      startOffset: Object.fromEntries(ranges.map((r) => [label(r), r.from.toString()])),
      endOffset: Object.fromEntries(ranges.map((r) => [label(r), r.until.toString()])),
      latestOffset: latest
        ? Object.fromEntries(
            [...latest].map(([k, v]) => [
              ranges.every((x) => x.topic === parsePartitionKey(k).topic) ? String(parsePartitionKey(k).partition) : k,
              v.toString(),
            ]),
          )
        : null,
      lag: lag === null ? null : lag.toString(),
      numInputRows: batch ? batch.numRecords : Number(ranges.reduce((a, r) => a + rangeSize(r), 0n)),
      numDeadLetterRows: batch?.deadLetters.length ?? 0,
      ...(batch?.prefetch ? { prefetch: batch.prefetch } : {}),
      ...(batch?.lostRanges
        ? { lostRanges: batch.lostRanges.map((r) => ({ topic: r.topic, partition: r.partition, from: r.from.toString(), until: r.until.toString() })) }
        : {}),
    };
  });
  const numInputRows = sources.reduce((a, s) => a + s.numInputRows, 0);
  const total = p.endedAt - p.startedAt;
  const sinceLast = p.previousStart === undefined ? total : p.startedAt - p.previousStart;
  const durationMs = Object.fromEntries(Object.entries(p.times).map(([k, v]) => [k, round(v)])) as unknown as PhaseTimes;
  return {
    id: p.checkpoint.metadata.jobId,
    name: p.job.def.name,
    batchId: p.batchId,
    timestamp: new Date(p.batchTime).toISOString(),
    batchTime: p.batchTime,
    numInputRows,
    inputRowsPerSecond: sinceLast > 0 ? round((numInputRows * 1000) / sinceLast) : 0,
    processedRowsPerSecond: total > 0 ? round((numInputRows * 1000) / total) : 0,
    durationMs: { ...durationMs, triggerExecution: round(total) },
    schedulingDelayMs: Math.max(0, p.startedAt - p.batchTime),
    sources,
    sinks: Object.entries(p.sinkRows).map(([description, numOutputRows]) => ({ description, numOutputRows })),
    watermark: p.watermarkMs === null ? null : new Date(Math.min(p.watermarkMs, 8_640_000_000_000_000)).toISOString(),
    stateRows: p.state?.rows ?? 0,
    stateBytes: p.state?.bytes ?? 0,
    stateOperators: p.state?.operators ?? [],
    numRowsDroppedByWatermark: p.lateRows,
    numDeadLetterRows: p.deadLetters,
    recovered: p.recovered,
  };
}
