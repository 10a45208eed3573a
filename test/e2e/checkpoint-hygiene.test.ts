import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLog } from '../../src/log/index.js';
import { runJob } from '../../src/driver/run-job.js';
import type { ProtocolStep } from '../../src/driver/driver.js';
import { Engine, literal } from '../../src/sql/engine.js';
import { canonical } from '../support/stream-test.js';

/**
 * Checkpoint hygiene: a driver SIGKILLed at any protocol step (or in the middle of a temp-file write) and restarted
 * leaves nothing in the checkpoint but the files docs/architecture.md#checkpoint-layout lists, and exact output.
 */

/** docs/architecture.md#checkpoint-layout, as names and patterns per folder. Keep the two in step. */
const ALLOWED: Record<string, RegExp> = {
  '': /^(metadata\.json|offsets|commits|state\.duckdb|state-snapshot\.duckdb|progress\.ndjson|lock|dead_letter|landing)$/,
  offsets: /^\d+$/,
  commits: /^\d+$/,
};

const RECORDS = 600;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ds-hygiene-'));
  const lines = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: i, k: `k${i % 7}` }));
  writeFileSync(join(dir, 'input.ndjson'), lines.join('\n') + '\n');
  const log = await createLog(join(dir, 'log'), { partitions: 2 });
  for (let p = 0; p < 2; p++)
    await log.append(
      p,
      lines.filter((_, i) => i % 2 === p).map((value) => ({ value })),
    );
  await log.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeJob(name: string): string {
  const out = join(dir, name, 'out');
  const file = join(dir, `${name}.sql`);
  writeFileSync(
    file,
    `CREATE SOURCE ev WITH (connector = 'log', path = '${dir}/log', format = 'json', schema = 'id BIGINT, k VARCHAR');
     CREATE SINK counts WITH (connector = 'parquet', path = '${out}/counts', output_mode = 'update', key = 'k') AS SELECT k, count(*) AS n FROM ev GROUP BY k;
     CREATE SINK ids WITH (connector = 'jsonl', path = '${out}/ids') AS SELECT id FROM ev;`,
  );
  return file;
}

/** Every entry of the checkpoint not on the allow-list, as a path relative to it. */
function strays(checkpoint: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(checkpoint)) {
    if (!ALLOWED['']!.test(name)) found.push(name);
    const sub = ALLOWED[name];
    if (sub && statSync(join(checkpoint, name)).isDirectory())
      for (const f of readdirSync(join(checkpoint, name))) if (!sub.test(f)) found.push(`${name}/${f}`);
  }
  return found.sort();
}

/** Where a child dies: right after a protocol step of batch 1, or just before renaming a temp whose name has `renameOf`. */
type Kill = { step: ProtocolStep } | { renameOf: string };
const KILLS: Record<string, Kill> = {
  ...Object.fromEntries(
    (['offsetLogWritten', 'read', 'stateCommitted', 'sinkWritten', 'sinksWritten', 'commitLogWritten'] as const).map((step) => [`after ${step}`, { step }]),
  ),
  'during the state snapshot publish': { renameOf: 'state-snapshot.duckdb.' },
  'during the metadata write': { renameOf: '.metadata.json.' },
};

/**
 * Run the job in a child process that SIGKILLs itself where `kill` says; resolves to how it ended. A rename is
 * intercepted by patching node:fs before the driver's modules load (ESM named imports follow
 * syncBuiltinESMExports), so the temp file is whole on disk and never renamed, as after a kill mid-publish.
 */
function runUntilKilled(job: string, checkpoint: string, kill: Kill): Promise<string> {
  const runJobUrl = pathToFileURL(resolve('dist/src/driver/run-job.js')).href;
  const script = `
    import fs from 'node:fs';
    import { syncBuiltinESMExports } from 'node:module';
    const kill = ${JSON.stringify(kill)};
    const rename = fs.renameSync;
    fs.renameSync = (from, to) => {
      if (kill.renameOf && String(from).includes(kill.renameOf)) process.kill(process.pid, 'SIGKILL');
      return rename(from, to);
    };
    syncBuiltinESMExports();
    const { runJob } = await import(${JSON.stringify(runJobUrl)});
    await runJob({ jobFile: ${JSON.stringify(job)}, checkpoint: ${JSON.stringify(checkpoint)}, trigger: { kind: 'available-now' },
      caps: { maxRecordsPerPartition: 100 },
      afterStep: (step, batchId) => { if (step === kill.step && batchId === 1) process.kill(process.pid, 'SIGKILL'); } });
    console.log('finished without being killed');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((ok) => child.once('exit', (code, signal) => ok(signal === 'SIGKILL' ? 'SIGKILL' : `exit ${code}: ${output}`)));
}

const CASES = Object.keys(KILLS);
const slug = (name: string) => name.replaceAll(' ', '-');
let killed: Record<string, string>;
let leftByKill: Record<string, string[]>;

// The kills run side by side: each is a process start and a batch or two.
beforeAll(async () => {
  const ends = await Promise.all(CASES.map((name) => runUntilKilled(writeJob(slug(name)), join(dir, slug(name), 'ck'), KILLS[name]!)));
  killed = Object.fromEntries(CASES.map((name, i) => [name, ends[i]!]));
  leftByKill = Object.fromEntries(CASES.map((name) => [name, strays(join(dir, slug(name), 'ck'))]));
});

describe('checkpoint hygiene after SIGKILL', () => {
  for (const name of CASES) {
    it(`killed ${name}: the restart leaves only documented files and exact output`, async () => {
      const job = join(dir, `${slug(name)}.sql`);
      const ck = join(dir, slug(name), 'ck');
      expect(killed[name]).toBe('SIGKILL');
      const kill = KILLS[name]!;
      if ('renameOf' in kill)
        expect(
          leftByKill[name]!.some((f) => f.includes(kill.renameOf)),
          `the kill left its temp: ${leftByKill[name]!.join(', ')}`,
        ).toBe(true);
      // What a kill in the middle of a temp-file write leaves (names as the writers make them, pid of the dead
      // process): metadata.json and log entries (src/util/atomic-file.ts), the state snapshot copy and its WAL
      // (src/stateful/state-store.ts).
      const dead = 4_000_000;
      writeFileSync(join(ck, `.metadata.json.${dead}.tmp`), '{"half":');
      writeFileSync(join(ck, `state-snapshot.duckdb.${dead}.tmp`), 'half a database');
      writeFileSync(join(ck, `state-snapshot.duckdb.${dead}.tmp.wal`), 'half a wal');
      mkdirSync(join(ck, 'offsets'), { recursive: true });
      mkdirSync(join(ck, 'commits'), { recursive: true });
      writeFileSync(join(ck, 'offsets', `.9.${dead}.tmp`), 'v1\n{');
      writeFileSync(join(ck, 'commits', `.9.${dead}.tmp`), 'v1\n{');

      await runJob({ jobFile: job, checkpoint: ck, trigger: { kind: 'available-now' }, caps: { maxRecordsPerPartition: 100 } });
      expect(strays(ck)).toEqual([]);

      const engine = await Engine.open();
      try {
        const out = join(dir, slug(name), 'out');
        const input = `read_ndjson(${literal(join(dir, 'input.ndjson'))}, columns = {id: 'BIGINT', k: 'VARCHAR'})`;
        const golden = await engine.allJson(`SELECT k, count(*)::INTEGER AS n FROM ${input} GROUP BY k`);
        const latest = await engine.allJson(
          `SELECT k, n::INTEGER AS n FROM read_parquet(${literal(join(out, 'counts', '*.parquet'))}, filename = true) QUALIFY row_number() OVER (PARTITION BY k ORDER BY filename DESC) = 1`,
        );
        expect(canonical(latest)).toEqual(canonical(golden));
        const ids = await engine.all(
          `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d FROM read_json_auto(${literal(join(out, 'ids', '*.jsonl'))})`,
        );
        expect(ids[0]).toEqual({ n: RECORDS, d: RECORDS });
      } finally {
        await engine.close();
      }
    });
  }
});
