import type { Command } from 'commander';
import { runJob } from '../driver/run-job.js';
import { isDStreamJobFile, runDStreamJob } from '../dstream/run-dstream-job.js';
import { parseTrigger } from '../driver/trigger.js';
import type { BatchProgress } from '../driver/progress.js';
import { userError } from '../errors.js';

interface RunFlags {
  checkpoint?: string;
  trigger: string;
  maxRecordsPerPartition?: string;
  maxRecordsPerBatch?: string;
  json?: boolean;
  allowSourceChange?: boolean;
  drain?: boolean;
  fsync: boolean;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a streaming job: a SQL job file (.sql) or a DStream job module (.ts, .js, .mjs)')
    .argument('<job>', 'the job file (.sql, or .ts/.js/.mjs for a DStream job)')
    .option('--checkpoint <dir>', 'checkpoint directory (default .duckstream/<job name>)')
    .option('--trigger <when>', "interval between batches (e.g. 1s, 500ms), 'once' or 'available-now'", '1s')
    .option('--max-records-per-partition <n>', 'cap on records per partition per batch')
    .option('--max-records-per-batch <n>', 'cap on records per batch, shared across partitions')
    .option('--drain', 'with --trigger available-now: at the end, move the watermark past everything so every open window is emitted')
    .option('--json', 'print each batch progress record as one JSON line on stdout')
    .option('--allow-source-change', 'continue a checkpoint whose job names other sources (the offsets must still apply)')
    .option('--no-fsync', 'do not fsync checkpoint logs and file sink outputs: exactly-once survives process crashes, not power cuts')
    .action(async (job: string, flags: RunFlags) => {
      const trigger = parseTrigger(flags.trigger);
      const controller = new AbortController();
      const stop = (signal: string) => {
        if (controller.signal.aborted) {
          process.stderr.write(`duckstream: ${signal} again, exiting without finishing the batch (it will be re-run on restart)\n`);
          process.exit(130);
        }
        process.stderr.write(`duckstream: ${signal}: finishing the current batch, then stopping\n`);
        controller.abort();
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      const result = await (isDStreamJobFile(job) ? runDStreamJob : runJob)({
        jobFile: job,
        checkpoint: flags.checkpoint,
        trigger,
        drain: flags.drain,
        caps: { maxRecordsPerPartition: positive(flags.maxRecordsPerPartition, '--max-records-per-partition'), maxRecordsPerBatch: positive(flags.maxRecordsPerBatch, '--max-records-per-batch') },
        allowSourceChange: flags.allowSourceChange,
        fsync: flags.fsync,
        signal: controller.signal,
        note: (m) => process.stderr.write(`duckstream: ${m}\n`),
        onBatch: (p) => (flags.json ? process.stdout.write(`${JSON.stringify(p)}\n`) : process.stderr.write(`${summarise(p)}\n`)),
      });
      process.stderr.write(`duckstream: stopped after ${result.batches} batch${result.batches === 1 ? '' : 'es'}; checkpoint ${result.checkpoint}\n`);
    });
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw userError(`${flag} '${value}' is not a positive whole number`);
  return n;
}

export function summarise(p: BatchProgress): string {
  const sinks = p.sinks.map((s) => `${s.description}=${s.numOutputRows}`).join(' ');
  const lag = p.sources.map((s) => s.lag).filter((l) => l !== null);
  return (
    `batch ${p.batchId}${p.recovered ? ' (recovered)' : ''}: ${p.numInputRows} rows in ${p.durationMs.triggerExecution} ms` +
    ` (${Math.round(p.processedRowsPerSecond).toLocaleString('en-US')} rows/s) → ${sinks || 'no sinks'}` +
    (p.numDeadLetterRows > 0 ? `, ${p.numDeadLetterRows} dead-lettered` : '') +
    (lag.length > 0 ? `, lag ${lag.join('+')}` : '')
  );
}
