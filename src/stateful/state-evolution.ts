import { existsSync } from 'node:fs';
import { userError } from '../errors.js';
import { literal, type Engine } from '../sql/engine.js';
import { describeChanges } from './fingerprint-diff.js';
import type { Exec } from './operator.js';
import type { StateFingerprint } from './state-fingerprint.js';
import { readingState } from './state-store.js';

/*
 * Job evolution with state (docs/architecture.md#job-evolution): at start, each stateful sink's fingerprint is
 * compared with the one stored with its state, before anything in the checkpoint is written. Unchanged operators
 * continue; a new one starts empty from the current offsets; a removed one's state is dropped; a changed one is
 * refused unless the user says what to do with its state (--reset-state, --rebuild-state).
 */

/** Where fingerprints live: in the state database, so they commit with the state they describe. */
export const FINGERPRINTS_TABLE = 'state._ds_operators';
const READ_ALIAS = '__ds_state_read';

/** What the user asked for, per sink name. */
export interface EvolutionRequest {
  readonly resetState?: readonly string[];
  readonly rebuildState?: readonly string[];
}

export interface EvolutionPlan {
  /** Sink → the fingerprint to store (every stateful sink of the job). */
  readonly fingerprints: ReadonlyMap<string, StateFingerprint>;
  /** Sinks whose operator starts with empty state: new, reset or rebuilt. */
  readonly fresh: ReadonlySet<string>;
  /** Sinks whose state is recomputed from the sources' history before the next batch. */
  readonly rebuild: ReadonlySet<string>;
  /** Stored operators to drop: removed from the job, reset, or rebuilt (their tables). */
  readonly drop: readonly { readonly sink: string; readonly tables: readonly string[] }[];
  /** Whether the stored fingerprints differ from what is to be stored (then `apply` writes). */
  readonly changed: boolean;
  readonly notes: readonly string[];
}

/**
 * The fingerprints stored in the state file, read through a read-only attach (which leaves the file and its WAL
 * as they are): undefined when there is no state file or it predates fingerprints.
 */
export async function readStoredFingerprints(
  engine: Engine,
  statePath: string,
): Promise<{ fingerprints: Map<string, StateFingerprint> | undefined; hasBatch: boolean }> {
  if (!existsSync(statePath)) return { fingerprints: undefined, hasBatch: false };
  return readingState(statePath, () => readFingerprints(engine, statePath));
}

async function readFingerprints(engine: Engine, statePath: string): Promise<{ fingerprints: Map<string, StateFingerprint> | undefined; hasBatch: boolean }> {
  await engine.run(`ATTACH ${literal(statePath)} AS ${READ_ALIAS} (READ_ONLY)`);
  try {
    const tables = new Set(
      (await engine.all(`SELECT table_name FROM duckdb_tables() WHERE database_name = '${READ_ALIAS}'`)).map((r) => String(r['table_name'])),
    );
    const metaRows = tables.has('_ds_meta') ? await engine.all(`SELECT count(*)::INTEGER AS n FROM ${READ_ALIAS}._ds_meta`) : [];
    const hasBatch = Number(metaRows[0]?.['n'] ?? 0) > 0;
    if (!tables.has('_ds_operators')) return { fingerprints: undefined, hasBatch };
    const rows = await engine.all(`SELECT sink, fingerprint::VARCHAR AS fp FROM ${READ_ALIAS}._ds_operators`);
    return { fingerprints: new Map(rows.map((r) => [String(r['sink']), JSON.parse(String(r['fp'])) as StateFingerprint])), hasBatch };
  } finally {
    await engine.run(`DETACH ${READ_ALIAS}`);
  }
}

/**
 * Decide what happens to each operator's state, or refuse (a user error naming the sink, what changed and the ways
 * on). `stored` undefined: a checkpoint without fingerprints (new, or written before they existed) — its operators
 * are taken as they are now.
 */
export function planEvolution(
  stored: ReadonlyMap<string, StateFingerprint> | undefined,
  current: ReadonlyMap<string, StateFingerprint>,
  request: EvolutionRequest,
  context: { readonly checkpointDir: string; readonly hasState: boolean; readonly hasCommits: boolean },
): EvolutionPlan {
  const reset = new Set(request.resetState ?? []);
  const rebuild = new Set(request.rebuildState ?? []);
  for (const name of [...reset, ...rebuild]) {
    if (!current.has(name)) {
      const stateful = [...current.keys()];
      throw userError(
        `--${reset.has(name) ? 'reset' : 'rebuild'}-state ${name}: the job has no stateful sink '${name}'`,
        stateful.length > 0 ? `name one of its stateful sinks: ${stateful.join(', ')}` : 'the job has no stateful sink: drop the option',
      );
    }
    if (reset.has(name) && rebuild.has(name)) throw userError(`sink '${name}': both --reset-state and --rebuild-state given`, 'choose one');
  }
  const notes: string[] = [];
  const fresh = new Set<string>();
  const drop: { sink: string; tables: readonly string[] }[] = [];
  const known = stored ?? new Map<string, StateFingerprint>();
  if (stored === undefined && context.hasState && current.size > 0) {
    notes.push('state fingerprints recorded for the first time: edits made before this run cannot be checked');
  }
  const refusals: string[] = [];
  for (const [sink, fp] of current) {
    const old = known.get(sink);
    const asked = reset.has(sink) || rebuild.has(sink);
    if (asked) drop.push({ sink, tables: [...new Set([...(old?.tables ?? []), ...fp.tables])] });
    if (!old) {
      // Without stored fingerprints but with state (a checkpoint from before them), its operators keep their state.
      if (stored !== undefined || !context.hasState || asked) fresh.add(sink);
      if (fresh.has(sink) && !asked && context.hasCommits) notes.push(`sink '${sink}' is new: its state starts empty from the current offsets`);
    } else if (asked) {
      fresh.add(sink);
      notes.push(
        reset.has(sink)
          ? `sink '${sink}': state reset (--reset-state): it starts empty from the current offsets; rows it already wrote stay`
          : `sink '${sink}': state rebuilt from the sources' history (--rebuild-state), without writing output`,
      );
    } else if (!context.hasState) {
      fresh.add(sink); // no batch has fed the stored state: it is empty, whatever it was planned for
    } else {
      const changes = describeChanges(old, fp);
      if (changes.length > 0) refusals.push(`sink '${sink}' (${fp.operator}): ${changes.join('; ')}`);
    }
  }
  if (refusals.length > 0) {
    const sinks = [...current.keys()].filter((s) => refusals.some((r) => r.startsWith(`sink '${s}'`)));
    throw userError(
      `the job changed what the state of ${sinks.length === 1 ? 'a stateful sink' : 'stateful sinks'} means; continuing would give wrong output:\n  ${refusals.join('\n  ')}`,
      `run the edited job on a new checkpoint (--checkpoint <new dir>); or --reset-state ${sinks[0]} to start that state empty from the current offsets ` +
        `(rows already written stay); or --rebuild-state ${sinks[0]} to recompute it from the sources' retained history up to the committed offsets, ` +
        `without writing output, then continue as a clean run would. The checkpoint ${context.checkpointDir} is unchanged; the job as it was still resumes.`,
    );
  }
  for (const [sink, old] of known) {
    if (current.has(sink)) continue;
    drop.push({ sink, tables: old.tables });
    notes.push(`sink '${sink}' is no longer in the job (or keeps no state): its state is dropped`);
  }
  const changed =
    stored === undefined ? current.size > 0 : drop.length > 0 || [...current].some(([s, fp]) => JSON.stringify(known.get(s)) !== JSON.stringify(fp));
  return { fingerprints: current, fresh, rebuild: new Set([...rebuild].filter((s) => current.has(s))), drop, changed, notes };
}

/** Drop what the plan drops and store the fingerprints, in the caller's state transaction. */
export async function applyEvolution(exec: Exec, plan: EvolutionPlan): Promise<void> {
  await exec(`CREATE TABLE IF NOT EXISTS ${FINGERPRINTS_TABLE} (sink VARCHAR PRIMARY KEY, fingerprint JSON NOT NULL)`);
  for (const { sink, tables } of plan.drop) {
    for (const t of tables) await exec(`DROP TABLE IF EXISTS ${t}`);
    await exec(`DELETE FROM ${FINGERPRINTS_TABLE} WHERE sink = ${literal(sink)}`);
  }
  for (const [sink, fp] of plan.fingerprints) {
    await exec(`INSERT OR REPLACE INTO ${FINGERPRINTS_TABLE} VALUES (${literal(sink)}, ${literal(JSON.stringify(fp))})`);
  }
}
