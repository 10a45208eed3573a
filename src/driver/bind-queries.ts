import * as arrow from 'apache-arrow';
import { errorMessage, userError } from '../errors.js';
import { createTableFromArrow } from '../arrow/arrow-to-duckdb.js';
import { withoutUnreadMetadata } from '../arrow/loaded-columns.js';
import { METADATA_COLUMNS } from '../source/metadata-columns.js';
import { batchSchema, type ValueSchema } from '../source/schema.js';
import type { Source } from '../source/source.js';
import { ident, type Engine } from '../sql/engine.js';
import { BOUNDS, onTimeTable, type StatefulOperator } from '../stateful/operator.js';
import { closestMatch } from '../util/suggest.js';
import type { CompiledJob, CompiledSink } from './compile-job.js';
import { onTimeSql } from './event-time-query.js';

/**
 * Bind every sink query whose sources all have a schema, so a misspelt column fails before the first offset entry
 * is written, not when a batch writes. At start (`justInferred` undefined) that covers declared and stored
 * schemas; the driver calls it again with the sources whose schema it has just inferred, before logging the batch.
 *
 * Stateless queries are bound with DESCRIBE over empty source tables. A stateful sink's operator SQL is bound by
 * running a fresh instance of its operator (so the job's own operator still creates its state tables on its first
 * batch) over empty on-time views, in a transaction that is rolled back: on the attached state database, or on an
 * in-memory one attached as `state` for the check when none is attached yet.
 *
 * The tables have the columns the sources will return (`readSchema`): should a query bind only with the columns
 * the analysis left out (a bug there), its source is widened back to all its columns rather than fail. Returns the
 * job to run: this one, or a copy loading every metadata column of the widened sources.
 */
export async function bindQueries(job: CompiledJob, engine: Engine, justInferred?: ReadonlySet<string>): Promise<CompiledJob> {
  const metadataColumns = new Map(job.metadataColumns);
  const sourceOf = (name: string) => job.sources.find((x) => x.name.toLowerCase() === name.toLowerCase());
  const createEmpty = async (source: Source, schema: ValueSchema) => {
    const keep = metadataColumns.get(source.name);
    const empty = new arrow.Table(batchSchema(schema));
    await engine.exclusive((c) =>
      createTableFromArrow(c, ident(source.name), keep ? withoutUnreadMetadata(empty, keep) : empty, { temporary: true, replace: true }),
    );
  };
  for (const source of job.sources) {
    if (source.schema && (justInferred === undefined || justInferred.has(source.name))) await createEmpty(source, source.readSchema ?? source.schema);
  }
  for (const s of job.sinks) {
    const sources = s.sources.map((name) => sourceOf(name));
    if (sources.some((x) => !x?.schema)) continue; // bound once its schema is inferred
    if (justInferred !== undefined && !sources.some((x) => justInferred.has(x!.name))) continue; // bound already
    const err = await bindError(job, s, engine);
    if (err === undefined) continue;
    const narrowed = sources.filter((x) => (x!.readSchema && x!.readSchema.length < x!.schema!.length) || metadataColumns.has(x!.name)) as Source[];
    if (narrowed.length > 0) {
      for (const source of narrowed) {
        metadataColumns.delete(source.name);
        await createEmpty(source, source.schema!);
      }
      if ((await bindError(job, s, engine)) === undefined) {
        for (const source of narrowed) {
          process.emitWarning(`source '${source.name}': sink '${s.def.name}' reads a column the column analysis left out; decoding all its columns`);
          source.keepColumns?.(undefined);
        }
        continue;
      }
    }
    throw notBound(job, s, sources as Source[], err);
  }
  return metadataColumns.size === job.metadataColumns.size ? job : { ...job, metadataColumns };
}

/** DuckDB's error binding the sink's query (for a stateful sink: its operator's statements), undefined when it binds. */
async function bindError(job: CompiledJob, s: CompiledSink, engine: Engine): Promise<unknown> {
  try {
    if (s.plan.kind === 'stateless') await engine.run(`DESCRIBE ${s.def.query}`);
    else await bindOperator(job, s.bindingOperator ? await s.bindingOperator() : undefined, engine);
    return undefined;
  } catch (err) {
    return err;
  }
}

async function bindOperator(job: CompiledJob, operator: StatefulOperator | undefined, engine: Engine): Promise<void> {
  if (!operator) return; // a job compiled without one (DStream graphs are bound as they compile)
  const [attached] = await engine.all(`SELECT 1 AS x FROM duckdb_databases() WHERE database_name = 'state'`);
  if (!attached) await engine.run(`ATTACH ':memory:' AS state`);
  try {
    await engine.exclusive(async (c) => {
      await c.run('BEGIN TRANSACTION');
      try {
        await c.run(`CREATE OR REPLACE TEMP TABLE ${BOUNDS} AS SELECT '-infinity'::TIMESTAMP AS lo, '-infinity'::TIMESTAMP AS hi`);
        for (const stream of operator.streams) {
          const ets = job.eventTime.get(stream);
          // A watermark of 0 rather than none, so that the event-time expression is bound too.
          await c.run(`CREATE OR REPLACE TEMP VIEW ${onTimeTable(stream)} AS SELECT * FROM ${ident(stream)} WHERE ${ets ? onTimeSql(ets, 0) : 'true'}`);
        }
        await operator.process(async (sql) => {
          await c.run(sql);
        }, 0);
      } finally {
        await c.run('ROLLBACK');
      }
    });
  } finally {
    if (!attached) await engine.run('DETACH state');
  }
}

/** The refusal: where the query is, what DuckDB said, the column it likely meant and the columns there are. */
function notBound(job: CompiledJob, s: CompiledSink, sources: readonly Source[], err: unknown) {
  const message = errorMessage(err);
  const columns = sources.map((x) => [...METADATA_COLUMNS, ...x.schema!.map((c) => c.name)]);
  const missing = /column "([^"]+)" not found/i.exec(message)?.[1];
  const guess = missing === undefined ? undefined : closestMatch(missing, columns.flat());
  const listed = sources.map((x, i) => `source '${x.name}' has columns ${columns[i]!.join(', ')}`).join('; ');
  return userError(
    `${job.def.file}:${s.def.line}: sink '${s.def.name}': ${message}`,
    `${guess ? `did you mean "${guess}"? ` : ''}fix the query; ${listed}`,
    err,
  );
}
