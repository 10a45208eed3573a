import type { Checkpoint } from '../checkpoint/checkpoint.js';
import type { Engine } from '../sql/engine.js';
import { applyEvolution, planEvolution, readStoredFingerprints, type EvolutionPlan, type EvolutionRequest } from '../stateful/state-evolution.js';
import { withSourceColumns, type StateFingerprint } from '../stateful/state-fingerprint.js';
import type { StateStore } from '../stateful/state-store.js';
import type { CompiledJob } from './compile-job.js';
import { rebuildState } from './rebuild-state.js';

/**
 * Step one of a start (docs/architecture.md#job-evolution): compare each stateful sink with the fingerprint stored
 * with its state, reading the state file without changing it. Throws the refusal; nothing is written yet.
 */
export async function planStateEvolution(job: CompiledJob, checkpoint: Checkpoint, engine: Engine, request: EvolutionRequest): Promise<EvolutionPlan> {
  const current = new Map<string, StateFingerprint>();
  for (const s of job.sinks) {
    if (s.plan.kind !== 'stateful' || !s.plan.fingerprint) continue;
    current.set(
      s.def.name,
      withSourceColumns(s.plan.fingerprint, (stream) => job.sources.find((x) => x.name === stream)?.schema),
    );
  }
  const { fingerprints: stored, hasBatch } = await readStoredFingerprints(engine, checkpoint.statePath);
  // State exists once a batch committed it (recorded in the state itself), or a committed batch ran with operators.
  const hasState = hasBatch || (checkpoint.commits.getLatest() !== undefined && checkpoint.metadata.statefulSince !== undefined);
  return planEvolution(stored, current, request, { checkpointDir: checkpoint.dir, hasState, hasCommits: checkpoint.commits.getLatest() !== undefined });
}

/**
 * Step two, once the start is accepted: in one state transaction, drop what the plan drops, rebuild what it
 * rebuilds and store the fingerprints, so a crash leaves either the old state and fingerprints or the new ones.
 * When no operator keeps its state, the state's batch id is moved to the last committed batch: fresh state (or a lost
 * state file rebuilt whole) is that batch's state, and the next batch (a recovered one included) folds into it.
 */
export async function applyStateEvolution(
  plan: EvolutionPlan,
  r: { job: CompiledJob; checkpoint: Checkpoint; engine: Engine; state: StateStore; note?: (message: string) => void },
): Promise<void> {
  for (const n of plan.notes) r.note?.(n);
  if (!plan.changed && plan.rebuild.size === 0) return;
  const meta = await r.state.meta();
  const rebuilt = r.job.operators.filter((op) => plan.rebuild.has(op.sink));
  const allFresh = [...plan.fingerprints.keys()].every((s) => plan.fresh.has(s) && !plan.rebuild.has(s));
  // A lost state file rebuilt whole: the rebuild ran up to the last committed batch (it has no later state batch to reach).
  const rebuiltWhole = meta === undefined && [...plan.fingerprints.keys()].every((s) => plan.fresh.has(s) || plan.rebuild.has(s));
  await r.state.atomically(async (exec) => {
    await applyEvolution(exec, plan);
    if (rebuilt.length > 0) {
      const { records, steps } = await rebuildState({ job: r.job, checkpoint: r.checkpoint, engine: r.engine, operators: rebuilt, meta }, exec);
      r.note?.(`rebuilt the state of ${rebuilt.map((op) => `'${op.sink}'`).join(', ')} from ${records} records in ${steps} steps`);
    }
    if (allFresh || rebuiltWhole) {
      const committed = r.checkpoint.commits.getLatest();
      await r.state.moveBatchId(exec, committed ? { batchId: committed.batchId, info: { watermark: committed.value.watermark } } : undefined);
    }
  });
}
