import type { Command } from 'commander';
import { runJob } from '../driver/run-job.js';
import { isDStreamJobFile, runDStreamJob } from '../dstream/run-dstream-job.js';
import { parseTrigger } from '../driver/trigger.js';
import type { BatchProgress } from '../driver/progress.js';
import { userError } from '../errors.js';
import { DEFAULT_MAX_RECORDS_PER_BATCH, type BatchCaps } from '../plan/plan-batch.js';
import { parsePositiveInt } from '../util/whole-number.js';

interface RunFlags {
  checkpoint?: string;
  trigger: string;
  maxRecordsPerPartition?: string;
  maxRecordsPerBatch?: string;
  json?: boolean;
  allowSourceChange?: boolean;
  drain?: boolean;
  fsync: boolean;
  kafkaLog?: boolean;
  resetState: string[];
  rebuildState: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a streaming job: a SQL job file (.sql) or a DStream job module (.ts, .js, .mjs)')
    .argument('<job>', 'the job file (.sql, or .ts/.js/.mjs for a DStream job)')
    .option('--checkpoint <dir>', 'checkpoint directory (default .duckstream/<job name>)')
    .option('--trigger <when>', "interval between batches (e.g. 1s, 500ms), 'once' or 'available-now'", '1s')
    .option('--max-records-per-partition <n>', 'cap on records per partition per batch')
    .option(
      '--max-records-per-batch <n>',
      `cap on records per batch, shared across partitions ('none': no cap; default ${DEFAULT_MAX_RECORDS_PER_BATCH} unless --trigger once or --max-records-per-partition is given)`,
    )
    .option('--drain', 'with --trigger available-now: at the end, move the watermark past everything so every open window is emitted')
    .option('--json', 'print each batch progress record as one JSON line on stdout')
    .option('--allow-source-change', 'continue a checkpoint whose job names other sources (the offsets must still apply)')
    .option('--kafka-log', 'let the Kafka client log its errors to stderr (also: DUCKSTREAM_KAFKA_LOG=1)')
    .option('--reset-state <sink>', "start that stateful sink's state empty from the current offsets (rows it already wrote stay); repeatable", collect, [])
    .option(
      '--rebuild-state <sink>',
      "recompute that stateful sink's state from the sources' retained history up to the committed offsets, without writing output; repeatable",
      collect,
      [],
    )
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
        caps: batchCaps(flags, trigger.kind === 'once'),
        allowSourceChange: flags.allowSourceChange,
        evolution: { resetState: flags.resetState, rebuildState: flags.rebuildState },
        fsync: flags.fsync,
        kafkaLog: flags.kafkaLog ?? kafkaLogFromEnv(),
        signal: controller.signal,
        note: (m) => process.stderr.write(`duckstream: ${m}\n`),
        onBatch: (p) => (flags.json ? process.stdout.write(`${JSON.stringify(p)}\n`) : process.stderr.write(`${summarise(p)}\n`)),
      });
      process.stderr.write(`duckstream: stopped after ${result.batches} batch${result.batches === 1 ? '' : 'es'}; checkpoint ${result.checkpoint}\n`);
    });
}

/** DUCKSTREAM_KAFKA_LOG set to anything but '' or '0' turns on kafkajs's error log, as --kafka-log does. */
export function kafkaLogFromEnv(): boolean {
  const v = process.env['DUCKSTREAM_KAFKA_LOG'];
  return v !== undefined && v !== '' && v !== '0';
}

/**
 * The caps a run uses. Without any, a backlog is still read in batches of DEFAULT_MAX_RECORDS_PER_BATCH so memory
 * is bounded; `--trigger once` means one batch of everything available (as Spark's Trigger.Once), so it is uncapped.
 */
export function batchCaps(flags: Pick<RunFlags, 'maxRecordsPerPartition' | 'maxRecordsPerBatch'>, once: boolean): BatchCaps {
  const perPartition = positive(flags.maxRecordsPerPartition, '--max-records-per-partition');
  if (flags.maxRecordsPerBatch === 'none') return { maxRecordsPerPartition: perPartition };
  const perBatch = positive(flags.maxRecordsPerBatch, '--max-records-per-batch');
  if (perBatch === undefined && perPartition === undefined && !once) return { maxRecordsPerBatch: DEFAULT_MAX_RECORDS_PER_BATCH };
  return { maxRecordsPerPartition: perPartition, maxRecordsPerBatch: perBatch };
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = parsePositiveInt(value);
  if (n === undefined) throw userError(`${flag} '${value}' is not a positive whole number`, 'give it as decimal digits, e.g. 100000');
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
