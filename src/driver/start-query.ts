import { Checkpoint } from '../checkpoint/checkpoint.js';
import { Engine } from '../sql/engine.js';
import type { CompiledJob } from './compile-job.js';
import { bindQueries } from './bind-queries.js';
import { Driver, useStoredSchemas, type DriverOptions } from './driver.js';

export interface QuerySpec {
  /**
   * The query's checkpoint: opened already (a SQL job's fingerprint is its parsed text's, known before compiling),
   * or opened from the compiled job (a DStream job's fingerprint is its compiled graph's). Closed if the start fails.
   */
  readonly checkpoint: Checkpoint | ((job: CompiledJob) => Checkpoint);
  /** Build the job on the query's engine. */
  readonly compile: (engine: Engine) => Promise<CompiledJob>;
  /**
   * Bind the sink queries before any batch is logged: at start, and over a schema as soon as it is inferred (SQL
   * jobs; a DStream graph is bound as it compiles).
   */
  readonly bindCheck?: boolean;
  readonly driver?: DriverOptions;
}

/** A started query: its driver runs batches (`runOnce`, or `runTrigger` over it) until `close`. */
export interface StartedQuery {
  readonly driver: Driver;
  readonly checkpoint: Checkpoint;
  readonly engine: Engine;
  /** Close the driver (sources, sinks, checkpoint) and then the engine. */
  close(): Promise<void>;
}

/**
 * Start a streaming query: open an engine, compile the job on it, open its checkpoint (unless given), restore the
 * schemas the checkpoint fixed, bind-check the queries and start the driver (sinks opened, sinks and state checked
 * against the commit log). What was opened is closed again if any of it fails. Shared by `runJob`,
 * `runDStreamJob` and the tests' StreamTest, so they start and stop a query the same way.
 */
export async function startQuery(spec: QuerySpec): Promise<StartedQuery> {
  let checkpoint = spec.checkpoint instanceof Checkpoint ? spec.checkpoint : undefined;
  let engine: Engine | undefined;
  let job: CompiledJob | undefined;
  try {
    engine = await Engine.open();
    job = await spec.compile(engine);
    checkpoint ??= (spec.checkpoint as (job: CompiledJob) => Checkpoint)(job);
    useStoredSchemas(job, checkpoint);
    if (spec.bindCheck) job = await bindQueries(job, engine);
    const driver = await Driver.start(job, checkpoint, engine, { ...spec.driver, bindInferred: spec.bindCheck === true });
    const started = engine;
    return {
      driver,
      checkpoint,
      engine,
      close: async () => {
        await driver.close();
        started.close();
      },
    };
  } catch (err) {
    await Promise.all((job?.sources ?? []).map((s) => s.close().catch(() => undefined)));
    checkpoint?.close();
    engine?.close();
    throw err;
  }
}
