import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createLog, openLog } from '../../src/log/index.js';
import { duckstream } from '../support/cli.js';
import { events, expectExactOutput, PARTITIONS, report, writeJob } from './harness.js';

/** A way to damage a file: cut it short, flip one bit at a relative position, or lose it. */
export type Damage = { kind: 'truncate'; keep: number } | { kind: 'flip'; at: number } | { kind: 'delete' };

/** One case: a file, its damage, and what the user adds to the run (e.g. --rebuild-state after a lost state file). */
export interface Case {
  readonly target: Target;
  readonly damage: Damage;
  readonly args?: readonly string[];
}

/** The run options that rebuild every stateful sink of the job (writeJob's `w` and `t`). */
export const REBUILD_ALL = ['--rebuild-state', 'w', '--rebuild-state', 't'];

/** Every kind of file in a checkpoint and a file sink that a restart reads (docs/architecture.md#checkpoint-layout). */
export const TARGETS = ['offset entry', 'commit entry', 'metadata', 'state database', 'manifest entry'] as const;
export type Target = (typeof TARGETS)[number];

export interface Outcome {
  readonly target: Target;
  readonly damage: string;
  /** 'refused' (exit ≠ 0, the file named) or 'harmless' (exit 0, every sink exact). */
  readonly result: 'refused' | 'harmless';
}

const RECORDS = 6000;
const LIMIT = ['--max-records-per-partition', '500'];

/**
 * Run the job on half the input and stop; then, for each target file and damage, start from a copy of that state,
 * damage the file, append the other half and run to the end. Each run must be refused with the damaged file named,
 * or end with every sink exact: a damaged file never gives a silently wrong output.
 */
export async function corruptionMatrix(cases: readonly Case[]): Promise<Outcome[]> {
  const root = mkdtempSync(join(tmpdir(), 'ds-torture-corrupt-'));
  try {
    const lines = events(RECORDS, 31);
    const pristine = join(root, 'pristine');
    const work = join(root, 'work');
    // The job's paths are the work directory's; the pristine copy is made there, then moved aside.
    const log = await createLog(join(work, 'log'), { partitions: PARTITIONS });
    await appendHalf(log, lines, 0);
    await log.close();
    const job = writeJob(work, join(work, 'out'));
    const ck = join(work, 'ck');
    const first = duckstream(['run', job, '--checkpoint', ck, '--trigger', 'available-now', ...LIMIT]);
    expect(first.status, first.stderr).toBe(0);
    cpSync(work, pristine, { recursive: true });

    const outcomes: Outcome[] = [];
    for (const c of cases) {
      rmSync(work, { recursive: true, force: true });
      cpSync(pristine, work, { recursive: true });
      const file = targetFile(work, c.target);
      damage(file, c.damage);
      const more = await openLog(join(work, 'log'));
      await appendHalf(more, lines, 1);
      await more.close();
      const run = duckstream(['run', job, '--checkpoint', ck, '--trigger', 'available-now', '--drain', ...LIMIT, ...(c.args ?? [])]);
      const label = `${c.target} (${file}) ${describe(c.damage)}${c.args ? ` then run with ${c.args.join(' ')}` : ''}`;
      if (run.status === 0) {
        await expectExactOutput(join(work, 'out'), lines, label);
        outcomes.push({ target: c.target, damage: describe(c.damage) + (c.args ? `, run with ${c.args.join(' ')}` : ''), result: 'harmless' });
      } else {
        expect(run.stderr, `${label}: a refusal must name the damaged file`).toContain(file);
        expect(run.stderr, `${label}: a refusal is an error of ours, not a crash`).not.toMatch(/\n\s+at /);
        outcomes.push({ target: c.target, damage: describe(c.damage), result: 'refused' });
      }
    }
    const refused = outcomes.filter((o) => o.result === 'refused').length;
    report('corruption-matrix', { cases: outcomes.length, refused, harmless: outcomes.length - refused, wrong: 0 });
    return outcomes;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Every target with a truncation to half, to nothing, bit flips near the start, in the middle and near the end, and
 * deletion; and a lost state file rebuilt with --rebuild-state, which must end exact.
 */
export function fullMatrix(): Case[] {
  const damages: Damage[] = [
    { kind: 'truncate', keep: 0.5 },
    { kind: 'truncate', keep: 0 },
    { kind: 'flip', at: 0.02 },
    { kind: 'flip', at: 0.5 },
    { kind: 'flip', at: 0.98 },
    { kind: 'delete' },
  ];
  return [
    ...TARGETS.flatMap((target) => damages.map((damage) => ({ target, damage }))),
    { target: 'state database', damage: { kind: 'delete' }, args: REBUILD_ALL },
  ];
}

async function appendHalf(log: Awaited<ReturnType<typeof openLog>>, lines: readonly string[], half: 0 | 1): Promise<void> {
  const part = lines.slice((half * lines.length) / 2, ((half + 1) * lines.length) / 2);
  const offset = (half * lines.length) / 2;
  for (let p = 0; p < PARTITIONS; p++)
    await log.append(
      p,
      part.filter((_, i) => (offset + i) % PARTITIONS === p).map((value) => ({ value })),
    );
}

/** The newest file of each kind, as a restart finds it. */
function targetFile(work: string, target: Target): string {
  const ck = join(work, 'ck');
  const newest = (dir: string): string => {
    const names = readdirSync(dir).filter((n) => !n.startsWith('.'));
    const name = names.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10)).at(-1);
    if (!name) throw new Error(`no file in ${dir}`);
    return join(dir, name);
  };
  switch (target) {
    case 'offset entry':
      return newest(join(ck, 'offsets'));
    case 'commit entry':
      return newest(join(ck, 'commits'));
    case 'metadata':
      return join(ck, 'metadata.json');
    case 'state database':
      return join(ck, 'state.duckdb');
    case 'manifest entry':
      return newest(join(work, 'out', 'raw', '_manifest'));
  }
}

function damage(file: string, d: Damage): void {
  if (!existsSync(file)) throw new Error(`nothing to damage: ${file}`);
  if (d.kind === 'delete') {
    rmSync(file);
    return;
  }
  const size = statSync(file).size;
  if (d.kind === 'truncate') {
    truncateSync(file, Math.floor(size * d.keep));
    return;
  }
  const bytes = readFileSync(file);
  const at = Math.min(size - 1, Math.floor(size * d.at));
  bytes[at] = bytes[at]! ^ 0x04;
  writeFileSync(file, bytes);
}

function describe(d: Damage): string {
  if (d.kind === 'delete') return 'deleted';
  return d.kind === 'truncate' ? `truncated to ${d.keep * 100} %` : `bit flipped at ${d.at * 100} %`;
}
