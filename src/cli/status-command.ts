import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readCheckpointStatus } from '../checkpoint/read-status.js';
import { openLog } from '../log/index.js';
import { formatTable } from '../connectors/console/console-sink.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show a checkpoint: last batches, offsets and lag per partition, rates, pending recovery')
    .argument('<checkpoint>', 'the checkpoint directory (e.g. .duckstream/<job name>)')
    .option('--json', 'print one JSON object')
    .action(async (dir: string, flags: { json?: boolean }) => {
      const status = readCheckpointStatus(dir);
      const partitions: { source: string; partition: number; committed: string; end: string | null; lag: string | null }[] = [];
      for (const [source, ranges] of Object.entries(status.positions)) {
        const def = status.metadata.sources?.find((s) => s.name === source);
        const ends = await sourceEnds(def?.options);
        for (const r of ranges) {
          // A pending batch has not committed its ranges: what is committed is where it starts.
          const committed = status.pending ? r.from : r.until;
          const end = ends?.[r.partition];
          partitions.push({
            source,
            partition: r.partition,
            committed: committed.toString(),
            end: end?.toString() ?? null,
            lag: end === undefined ? null : (end - committed).toString(),
          });
        }
      }
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ checkpoint: status.dir, job: status.metadata.jobName, jobId: status.metadata.jobId, lastCommitted: status.lastCommitted ?? null, pending: status.pending ?? null, partitions, state: status.recent.at(-1)?.['stateOperators'] ?? [], recent: status.recent, tornProgressTail: status.tornProgressTail })}\n`,
        );
        return;
      }
      const out: string[] = [];
      out.push(`checkpoint ${status.dir} (job '${status.metadata.jobName}', created ${status.metadata.created})`);
      out.push(
        status.lastCommitted ? `last committed batch: ${status.lastCommitted.batchId} at ${status.lastCommitted.committedAt}` : 'no batch committed yet',
      );
      out.push(
        status.pending
          ? `pending recovery: batch ${status.pending.batchId} was planned but not committed; the next run re-runs it with the same offsets`
          : 'pending recovery: none',
      );
      out.push(
        '',
        formatTable(
          ['source', 'partition', 'committed offset', 'end offset', 'lag'],
          partitions.map((p) => [p.source, String(p.partition), p.committed, p.end ?? '?', p.lag ?? '?']),
        ),
      );
      if (status.recent.length > 0) {
        out.push('', 'recent batches:');
        out.push(
          formatTable(
            ['batch', 'time', 'input rows', 'rows/s', 'duration ms', 'dead letters'],
            status.recent.map((r) => [
              String(r['batchId']),
              String(r['timestamp']),
              String(r['numInputRows']),
              String(r['processedRowsPerSecond']),
              String((r['durationMs'] as Record<string, unknown> | undefined)?.['triggerExecution'] ?? ''),
              String(r['numDeadLetterRows'] ?? 0),
            ]),
          ),
        );
      }
      const last = status.recent.at(-1);
      const operators = (last?.['stateOperators'] as { sink: string; operator: string; rows: number; bytes?: number }[] | undefined) ?? [];
      if (operators.length > 0) {
        out.push('', `state (batch ${String(last?.['batchId'])}, ${String(last?.['stateBytes'])} bytes, watermark ${String(last?.['watermark'])}):`);
        out.push(
          formatTable(
            ['sink', 'operator', 'rows', 'bytes (est.)'],
            operators.map((o) => [o.sink, o.operator, String(o.rows), String(o.bytes ?? '?')]),
          ),
        );
      }
      if (status.tornProgressTail) out.push('note: the last line of progress.ndjson is torn (a crash mid-write); it was passed over');
      process.stdout.write(`${out.join('\n')}\n`);
    });
}

/** End offsets per partition of a log source; undefined for sources we can't measure from here. */
async function sourceEnds(options: Record<string, string> | undefined): Promise<bigint[] | undefined> {
  if (!options || (options['connector'] ?? 'log') !== 'log' || !options['path']) return undefined;
  try {
    const log = await openLog(resolve(options['path']));
    const ends = Array.from({ length: log.partitionCount() }, (_, p) => log.endOffset(p));
    await log.close();
    return ends;
  } catch {
    return undefined;
  }
}
