import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userError } from '../errors.js';
import { rangeFromJson, type OffsetRange } from '../plan/offset-range.js';
import { readProgress, type CheckpointMetadata, type CommitLogEntry, type OffsetLogEntry } from './checkpoint.js';
import { MetadataLog } from './metadata-log.js';
import { readVersioned } from './versioned-file.js';

export interface CheckpointStatus {
  dir: string;
  metadata: CheckpointMetadata;
  lastCommitted: { batchId: number; committedAt: string } | undefined;
  /** Planned (offset log written) but not committed: the next run re-runs it with the same ranges. */
  pending: { batchId: number; batchTime: number } | undefined;
  /** Per source, the ranges of the newest offset-log entry. */
  positions: Record<string, OffsetRange[]>;
  recent: Record<string, unknown>[];
  tornProgressTail: boolean;
}

/** Read a checkpoint without taking its lock: safe while a driver runs. */
export function readCheckpointStatus(dirArg: string, recentCount = 10): CheckpointStatus {
  const dir = resolve(dirArg);
  const metaPath = join(dir, 'metadata.json');
  if (!existsSync(metaPath))
    throw userError(
      `${dir} is not a duckstream checkpoint (no metadata.json)`,
      'give the --checkpoint directory of a job that has run, e.g. .duckstream/<job name>',
    );
  const metadata = readVersioned<CheckpointMetadata>(metaPath);
  const offsets = new MetadataLog<OffsetLogEntry>(join(dir, 'offsets'));
  const commits = new MetadataLog<CommitLogEntry>(join(dir, 'commits'));
  const latestOffsets = offsets.getLatest();
  const latestCommit = commits.getLatest();
  const pending =
    latestOffsets && (!latestCommit || latestCommit.batchId < latestOffsets.batchId)
      ? { batchId: latestOffsets.batchId, batchTime: latestOffsets.value.batchTime }
      : undefined;
  const positions: Record<string, OffsetRange[]> = {};
  for (const [name, ranges] of Object.entries(latestOffsets?.value.sources ?? {})) positions[name] = ranges.map(rangeFromJson);
  const progress = readProgress(dir);
  return {
    dir,
    metadata,
    lastCommitted: latestCommit ? { batchId: latestCommit.batchId, committedAt: latestCommit.value.committedAt } : undefined,
    pending,
    positions,
    recent: progress.records.slice(-recentCount),
    tornProgressTail: progress.tornTail,
  };
}
