import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { userError } from '../errors.js';
import { formatTable } from '../connectors/console/console-sink.js';
import { Engine } from '../sql/engine.js';

/**
 * `duckstream state <checkpoint> --sql '…'`: query a job's state from outside, while it runs. The live
 * state.duckdb has one writer (the driver), so this reads the snapshot the driver publishes after batches.
 */
export function registerStateCommand(program: Command): void {
  program
    .command('state')
    .description("query a job's state (read-only, from the snapshot the running job publishes)")
    .argument('<checkpoint>', 'the checkpoint directory')
    .option('--sql <query>', 'SQL over the state tables (default: list them with their row counts)')
    .option('--json', 'print rows as JSON lines')
    .action(async (dir: string, flags: { sql?: string; json?: boolean }) => {
      const snapshot = join(resolve(dir), 'state-snapshot.duckdb');
      if (!existsSync(snapshot)) {
        throw userError(`${dir} has no state snapshot`, 'only jobs with stateful queries (windows, aggregations, joins) have state; run the job first');
      }
      const engine = await Engine.open(snapshot, { access_mode: 'READ_ONLY' });
      try {
        const sql =
          flags.sql ?? `SELECT table_name AS "table", estimated_size AS rows FROM duckdb_tables() WHERE database_name = current_database() ORDER BY table_name`;
        const rows = await engine.allJson(sql);
        if (flags.json) {
          process.stdout.write(rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : ''));
          return;
        }
        const header = rows[0] ? Object.keys(rows[0]) : [];
        process.stdout.write(
          `${formatTable(
            header,
            rows.map((r) => header.map((h) => (r[h] === null ? 'NULL' : typeof r[h] === 'object' ? JSON.stringify(r[h]) : String(r[h])))),
          )}\n`,
        );
      } finally {
        engine.close();
      }
    });
}
