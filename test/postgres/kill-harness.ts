import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'vitest';
import { prng } from '../../src/demo/pageviews.js';
import { createLog } from '../../src/log/index.js';
import { duckstream, killRepeatedly } from '../support/cli.js';
import { dropCommits, dropTables, psql, uniqueName } from './pg-support.js';

/** The job's URL carries a password (trust auth ignores it): no output of any run may show it. */
const PASSWORD = 'KillRunPw_7f3';
const URL = `postgres://postgres:${PASSWORD}@127.0.0.1:5432/test`;

interface Event {
  id: number;
  status: number;
  k: string;
  v: number;
}

export interface KillScenario {
  /** Kills of a driver right after one of its postgres sinks committed a batch, before the commit log has it. */
  readonly sinkKills: number;
  /** Kills of `duckstream run` at random moments (killRepeatedly). */
  readonly randomKills: number;
  readonly partitions: number;
  readonly perPartition: number;
  readonly maxPerPartition: number;
  readonly seed: number;
}

/**
 * A job with three postgres sinks (append, update, complete) over an embedded log, killed as `o` says and then run
 * to the end; every table must equal both a run that was never killed and the result computed here from the input.
 */
export async function runKillScenario(o: KillScenario): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-pg-kill-'));
  const prefix = uniqueName('pgkill');
  const tables = ['kill', 'clean'].flatMap((run) => ['errs', 'totals', 'tot_c'].map((s) => `${prefix}_${run}_${s}`));
  const rand = prng(o.seed);
  const t0 = Date.now();
  let log = '';
  try {
    const events: Event[] = Array.from({ length: o.partitions * o.perPartition }, (_, id) => ({
      id,
      status: rand() < 0.2 ? 500 : 200,
      k: `k${Math.floor(rand() * 7)}`,
      v: Math.floor(rand() * 100),
    }));
    const store = await createLog(join(dir, 'log'), { partitions: o.partitions });
    for (let p = 0; p < o.partitions; p++)
      await store.append(
        p,
        events.filter((e) => e.id % o.partitions === p).map((e) => ({ value: JSON.stringify(e) })),
      );
    await store.close();

    const jobFile = (run: string): string => {
      const file = join(dir, `${prefix}_${run}.sql`);
      const t = (s: string) => `${prefix}_${run}_${s}`;
      writeFileSync(
        file,
        `CREATE SOURCE ev WITH (connector = 'log', path = '${dir}/log', format = 'json', schema = 'id BIGINT, status INTEGER, k VARCHAR, v BIGINT');
         CREATE SINK errs WITH (connector = 'postgres', url = '${URL}', table = '${t('errs')}', retry_backoff_ms = '50') AS SELECT id, k FROM ev WHERE status >= 500;
         CREATE SINK totals WITH (connector = 'postgres', url = '${URL}', table = '${t('totals')}', output_mode = 'update') AS SELECT k, count(*) AS n, sum(v) AS s FROM ev GROUP BY k;
         CREATE SINK tot_c WITH (connector = 'postgres', url = '${URL}', table = '${t('tot_c')}', output_mode = 'complete') AS SELECT k, count(*) AS n, max(id) AS last_id FROM ev GROUP BY k;`,
      );
      return file;
    };
    const killJob = jobFile('kill');
    const ck = join(dir, 'ck');
    const caps = ['--max-records-per-partition', String(o.maxPerPartition)];

    // The clean run goes on beside the killed ones (its own tables and checkpoint).
    const cleanRun = runUntilSinkKill(jobFile('clean'), join(dir, 'ck-clean'), o.maxPerPartition, Number.MAX_SAFE_INTEGER, '');
    const sinks = ['errs', 'totals', 'tot_c'];
    for (let round = 0; round < o.sinkKills; round++) {
      // At or after the second batch from here: the first one may be the replay of the batch killed last round.
      const minBatch = lastCommitted(ck) + 2 + Math.floor(rand() * 2);
      const sink = sinks[Math.floor(rand() * sinks.length)]!;
      const end = await runUntilSinkKill(killJob, ck, o.maxPerPartition, minBatch, sink);
      expect(end.how, `round ${round}: ${end.output}\n${log}`).toBe('SIGKILL');
      expect(end.output).not.toContain(PASSWORD);
      log += `sink kill ${round}: after sink ${sink} wrote batch ≥ ${minBatch}; committed now ${lastCommitted(ck)} (${Date.now() - t0} ms)\n`;
    }
    if (o.randomKills > 0)
      log += await killRepeatedly(['run', killJob, '--checkpoint', ck, '--trigger', '20ms', ...caps], ck, { rounds: o.randomKills, rand, maxDelayMs: 150 });
    expect(log).not.toContain(PASSWORD);
    const finish = duckstream(['run', killJob, '--checkpoint', ck, '--trigger', 'available-now', ...caps]);
    expect(finish.status, `${log}\nfinish: ${finish.stderr}`).toBe(0);
    expect(finish.stderr + finish.stdout).not.toContain(PASSWORD);
    log += `finished (${Date.now() - t0} ms)\n`;
    for (const file of filesUnder(ck)) expect(readFileSync(file).includes(PASSWORD), `${file} holds the password`).toBe(false);
    const clean = await cleanRun;
    log += `clean run done (${Date.now() - t0} ms)\n`;
    expect(clean.how, clean.output).toBe('exit 0');

    // Computed here from the input, not by duckstream.
    const errs = events.filter((e) => e.status >= 500).map((e) => `${e.id}|${e.k}`);
    const byK = new Map<string, { n: number; s: number; last: number }>();
    for (const e of events) {
      const g = byK.get(e.k) ?? { n: 0, s: 0, last: -1 };
      byK.set(e.k, { n: g.n + 1, s: g.s + e.v, last: Math.max(g.last, e.id) });
    }
    const keys = [...byK.keys()].sort();
    const expected: Record<string, string[]> = {
      errs,
      totals: keys.map((k) => `${k}|${byK.get(k)!.n}|${byK.get(k)!.s}`),
      tot_c: keys.map((k) => `${k}|${byK.get(k)!.n}|${byK.get(k)!.last}`),
    };
    const select: Record<string, string> = { errs: 'id, k ORDER BY id', totals: 'k, n, s ORDER BY k', tot_c: 'k, n, last_id ORDER BY k' };
    for (const s of sinks) {
      const [cols, order] = select[s]!.split(' ORDER BY ');
      const killed = psql(`SELECT ${cols} FROM "${prefix}_kill_${s}" ORDER BY ${order}`);
      expect(killed, `${s}\n${log}`).toEqual(expected[s]);
      expect(psql(`SELECT ${cols} FROM "${prefix}_clean_${s}" ORDER BY ${order}`)).toEqual(killed);
    }
    return log;
  } finally {
    await dropTables(...tables).catch(() => undefined);
    await dropCommits(`${prefix}_kill`);
    await dropCommits(`${prefix}_clean`);
    rmSync(dir, { recursive: true, force: true });
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function lastCommitted(ck: string): number {
  const dir = join(ck, 'commits');
  if (!existsSync(dir)) return -1;
  return Math.max(
    -1,
    ...readdirSync(dir)
      .filter((f) => /^[0-9]+$/.test(f))
      .map(Number),
  );
}

/**
 * Run the job (available-now) in a child that SIGKILLs itself right after sink `sink` wrote batch `minBatch` or a
 * later one, i.e. between the sink's PostgreSQL transaction and the checkpoint's commit log.
 */
function runUntilSinkKill(job: string, checkpoint: string, cap: number, minBatch: number, sink: string): Promise<{ how: string; output: string }> {
  const runJobUrl = pathToFileURL(resolve('dist/src/driver/run-job.js')).href;
  const script = `
    const { runJob } = await import(${JSON.stringify(runJobUrl)});
    await runJob({ jobFile: ${JSON.stringify(job)}, checkpoint: ${JSON.stringify(checkpoint)}, trigger: { kind: 'available-now' },
      caps: { maxRecordsPerPartition: ${cap} },
      afterStep: (step, batchId, detail) => {
        if (step === 'sinkWritten' && batchId >= ${minBatch} && detail === ${JSON.stringify(sink)}) process.kill(process.pid, 'SIGKILL');
      } });
    console.log('finished without being killed');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((ok) => child.once('exit', (code, signal) => ok({ how: signal === 'SIGKILL' ? 'SIGKILL' : `exit ${code}`, output })));
}
