import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { damagedDatabaseError } from '../sql/damaged-database.js';
import { ident, literal, type Engine } from '../sql/engine.js';
import { fsyncDir } from '../util/atomic-file.js';
import type { Exec, StatefulOperator } from './operator.js';

export const STATE_ALIAS = 'state';

/** What to do about a damaged state file (a CorruptFileError's fix). */
export const DAMAGED_STATE_FIX =
  'restore the checkpoint from a copy; or move the file aside and run again with --rebuild-state <sink> for each stateful sink (recomputed from the sources); or start a new checkpoint';

/** `work`, with a damaged state file reported as such: DuckDB's own message names a block, not the file. */
export async function readingState<T>(path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw damagedDatabaseError(path, err, DAMAGED_STATE_FIX) ?? err;
  }
}
const META = `${STATE_ALIAS}._ds_meta`;

export interface StateMeta {
  batchId: number;
  /** Opaque to the store: what the driver needs to finish the batch on replay (the watermark it computed). */
  info: Record<string, unknown>;
}

/**
 * The state of stateful operators: `<checkpoint>/state.duckdb`, attached to the driver's engine as `state`.
 * A batch's state changes, its outputs and its batch id commit in one DuckDB transaction (docs/architecture.md#the-batch-protocol step 4, invariant I4).
 */
export class StateStore {
  private constructor(
    private readonly engine: Engine,
    readonly path: string,
  ) {}

  static async open(engine: Engine, path: string): Promise<StateStore> {
    return readingState(path, async () => {
      await engine.run(`ATTACH IF NOT EXISTS ${literal(path)} AS ${STATE_ALIAS}`);
      await engine.run(`CREATE TABLE IF NOT EXISTS ${META} (id INTEGER PRIMARY KEY, batch_id BIGINT NOT NULL, info JSON NOT NULL)`);
      return new StateStore(engine, path);
    });
  }

  async meta(): Promise<StateMeta | undefined> {
    const [row] = await readingState(this.path, () => this.engine.all(`SELECT batch_id::BIGINT AS b, info::VARCHAR AS info FROM ${META} WHERE id = 1`));
    if (!row) return undefined;
    return { batchId: Number(row['b']), info: JSON.parse(String(row['info'])) as Record<string, unknown> };
  }

  /** Run the batch's state work and record the batch id, all or nothing. */
  async commitBatch(batchId: number, info: Record<string, unknown>, work: (exec: Exec) => Promise<void>): Promise<void> {
    await readingState(this.path, () =>
      this.engine.transaction(async (c) => {
        await work(async (sql) => {
          await c.run(sql);
        });
        await c.run(`INSERT OR REPLACE INTO ${META} VALUES (1, $batch, $info)`, { batch: batchId, info: JSON.stringify(info) });
      }),
    );
  }

  /**
   * BEGIN … COMMIT around work that itself uses the engine (loads sources, runs operators): at start, before any
   * batch, when nothing else uses the connection. ROLLBACK if it throws, so the state is as it was.
   */
  async atomically(work: (exec: Exec) => Promise<void>): Promise<void> {
    await this.engine.run('BEGIN TRANSACTION');
    try {
      await readingState(this.path, async () => {
        await work((sql) => this.engine.run(sql));
        await this.engine.run('COMMIT');
      });
    } catch (err) {
      await this.engine.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Set the batch id the state is at (undefined: none), in the caller's transaction: see applyStateEvolution. */
  async moveBatchId(exec: Exec, to: StateMeta | undefined): Promise<void> {
    await exec(`DELETE FROM ${META}`);
    if (to) await exec(`INSERT INTO ${META} VALUES (1, ${to.batchId}, ${literal(JSON.stringify(to.info))})`);
  }

  /** Outputs of committed batches are no longer needed for replay. */
  async purgeOutputs(operators: readonly StatefulOperator[], committedBatchId: number): Promise<void> {
    for (const op of operators) {
      await this.engine.run(`DELETE FROM ${op.outputTable} WHERE __ds_batch <= ${committedBatchId}`).catch(() => undefined);
    }
  }

  /**
   * Rows and bytes per operator, and the state file's size. An operator's bytes are an estimate from DuckDB's
   * storage info: the storage blocks its tables' checkpointed segments occupy, plus 8 bytes per value of segments
   * not yet checkpointed.
   */
  async stats(
    operators: readonly StatefulOperator[],
  ): Promise<{ rows: number; bytes: number; operators: { sink: string; operator: string; rows: number; bytes: number }[] }> {
    const [size] = await this.engine
      .all(`SELECT total_blocks * block_size AS bytes, block_size FROM pragma_database_size() WHERE database_name = '${STATE_ALIAS}'`)
      .catch(() => [{ bytes: 0, block_size: 262144 }]);
    const blockSize = Number(size?.['block_size'] ?? 262144);
    const per: { sink: string; operator: string; rows: number; bytes: number }[] = [];
    for (const op of operators) {
      let rows = 0;
      let bytes = 0;
      for (const t of op.stateTables) {
        const [r] = await this.engine.all(`SELECT count(*)::BIGINT AS n FROM ${t}`).catch(() => [{ n: 0 }]);
        rows += Number(r?.['n'] ?? 0);
        const [b] = await this.engine
          .all(
            `SELECT count(DISTINCT block_id) FILTER (WHERE persistent AND block_id >= 0)::BIGINT AS blocks, ` +
              `coalesce(sum(count) FILTER (WHERE NOT persistent AND segment_type <> 'VALIDITY'), 0)::BIGINT AS loose FROM pragma_storage_info(${literal(t.replaceAll('"', ''))})`,
          )
          .catch(() => [{ blocks: 0, loose: 0 }]);
        bytes += Number(b?.['blocks'] ?? 0) * blockSize + Number(b?.['loose'] ?? 0) * 8;
      }
      per.push({ sink: op.sink, operator: op.description, rows, bytes });
    }
    return { rows: per.reduce((a, p) => a + p.rows, 0), bytes: Number(size?.['bytes'] ?? 0), operators: per };
  }

  /**
   * Publish a copy of the state for `duckstream state`, renamed into place: it reads it while the job runs (the
   * live state.duckdb has one writer, so nobody else can open it). The copy holds the operators' state tables and
   * `meta` (batch id, info). Fast path: CHECKPOINT the state (all committed data in the file, no WAL), copy the file
   * and drop what readers do not need from the copy; a state file that still has a WAL is copied table by table.
   */
  async publishSnapshot(target: string, operators: readonly StatefulOperator[]): Promise<void> {
    const tmp = `${target}.${process.pid}.tmp`;
    rmSync(tmp, { force: true });
    rmSync(`${tmp}.wal`, { force: true });
    mkdirSync(dirname(target), { recursive: true });
    await this.engine.run(`CHECKPOINT ${STATE_ALIAS}`);
    const wal = `${this.path}.wal`;
    const copied = !existsSync(wal) || statSync(wal).size === 0;
    if (copied) copyFileSync(this.path, tmp);
    await this.engine.run(`ATTACH ${literal(tmp)} AS __ds_snapshot`);
    try {
      const keep = new Set(operators.flatMap((op) => op.stateTables.map((t) => t.slice(`${STATE_ALIAS}.`.length).replaceAll('"', ''))));
      if (copied) {
        const tables = await this.engine.all(`SELECT table_name FROM duckdb_tables() WHERE database_name = '__ds_snapshot'`);
        await this.engine.run(`CREATE TABLE __ds_snapshot.meta AS SELECT batch_id, info FROM __ds_snapshot._ds_meta`);
        for (const r of tables) {
          const name = String(r['table_name']);
          if (!keep.has(name)) await this.engine.run(`DROP TABLE __ds_snapshot.${ident(name)}`);
        }
      } else {
        await this.engine.run(`CREATE TABLE __ds_snapshot.meta AS SELECT batch_id, info FROM ${META}`);
        for (const name of keep)
          await this.engine.run(`CREATE TABLE __ds_snapshot.${ident(name)} AS SELECT * FROM ${STATE_ALIAS}.${ident(name)}`).catch(() => undefined);
      }
      await this.engine.run('CHECKPOINT __ds_snapshot');
    } finally {
      await this.engine.run('DETACH __ds_snapshot');
    }
    if (existsSync(`${tmp}.wal`)) throw new Error(`state snapshot ${tmp} still has a WAL after CHECKPOINT`);
    renameSync(tmp, target);
    fsyncDir(dirname(target));
  }
}
