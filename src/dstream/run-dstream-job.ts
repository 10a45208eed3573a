import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Checkpoint } from '../checkpoint/checkpoint.js';
import { defaultCheckpointDir, driverOptions, runStartedQuery, type RunJobOptions } from '../driver/run-job.js';
import { startQuery } from '../driver/start-query.js';
import { userError } from '../errors.js';
import { compileDStreamJob } from './compile.js';
import { StreamingContext } from './context.js';
import { basename, extname } from 'node:path';

/** A DStream job module: `export default function job(ssc: StreamingContext) { … }`. */
export type DStreamJob = (ssc: StreamingContext) => void;

export const DSTREAM_JOB_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

export function isDStreamJobFile(file: string): boolean {
  return DSTREAM_JOB_EXTENSIONS.includes(extname(file));
}

/**
 * Load a job module. TypeScript goes through tsx's ESM API (`tsImport`: esbuild, no type check, scoped to this
 * one import so the rest of the process keeps Node's own loader); .js/.mjs are plain imports.
 */
export async function loadDStreamJob(file: string): Promise<DStreamJob> {
  const path = resolve(file);
  if (!existsSync(path)) throw userError(`job file ${file} does not exist`, 'give the path of a job, e.g. duckstream run jobs/wordcount.ts');
  const url = pathToFileURL(path).href;
  let mod: { default?: unknown };
  if (/\.m?ts$/.test(path)) {
    const { tsImport } = await import('tsx/esm/api');
    mod = (await tsImport(url, import.meta.url)) as { default?: unknown };
  } else mod = (await import(url)) as { default?: unknown };
  const job = mod.default;
  if (typeof job !== 'function') throw userError(`${file} has no default export function`, 'export default function job(ssc: StreamingContext) { … }');
  return job as DStreamJob;
}

/** `duckstream run jobs/x.ts`: build the job's streams, compile them, and run them with the trigger (batch interval = trigger interval). */
export async function runDStreamJob(o: RunJobOptions): Promise<{ batches: number; checkpoint: string }> {
  const jobFn = await loadDStreamJob(o.jobFile);
  const ssc = new StreamingContext({ batchInterval: o.trigger.kind === 'interval' ? o.trigger.ms : 1000 });
  jobFn(ssc);
  const name = basename(o.jobFile, extname(o.jobFile));
  const checkpointDir = o.checkpoint ?? defaultCheckpointDir(name);
  const query = await startQuery({
    compile: (engine) => compileDStreamJob(ssc, engine, { file: o.jobFile, checkpointDir, stdout: o.stdout, kafkaLog: o.kafkaLog }),
    // The fingerprint is the compiled graph's, so the checkpoint opens after compiling.
    checkpoint: (job) =>
      Checkpoint.open(checkpointDir, {
        jobName: name,
        fingerprint: { sourcesHash: job.def.sourcesHash, jobHash: job.def.jobHash },
        allowSourceChange: o.allowSourceChange,
        onNote: o.note,
        fsync: o.fsync,
      }),
    driver: driverOptions(o),
  });
  return runStartedQuery(query, o);
}
