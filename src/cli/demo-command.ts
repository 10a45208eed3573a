import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { runJob } from '../driver/run-job.js';
import { summarise } from './run-command.js';
import { createLog, type AppendRecord } from '../log/index.js';
import { BAD_LINES, generatePageViews } from '../demo/pageviews.js';

const LOG_DIR = 'data/logs/pageviews';
const JOB = 'jobs/pageview-errors.sql';

/** `npm start`: fill the embedded log with sample page views, run the main job over them, say where the output is. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(`fill ${LOG_DIR} with sample page views and run ${JOB} over them (what npm start does)`)
    .option('--records <n>', 'how many page views to generate', '5000')
    .action(async (flags: { records: string }) => {
      const count = Number(flags.records);
      for (const dir of [LOG_DIR, 'out/pageview-errors', '.duckstream/pageview-errors']) rmSync(dir, { recursive: true, force: true });
      const log = await createLog(LOG_DIR, { partitions: 4 });
      const views = generatePageViews(count);
      const perPartition = [0, 0, 0, 0];
      for (let p = 0; p < 4; p++) {
        const mine = views.filter((v) => v.user_id % 4 === p);
        const records: AppendRecord[] = mine.map((v) => ({ key: String(v.user_id), value: JSON.stringify(v), timestamp: Date.parse(v.ts) }));
        if (p === 1) records.splice(100, 0, ...BAD_LINES.map((line) => ({ key: null, value: line, timestamp: Date.parse('2026-11-01T09:00:05Z') })));
        for (let i = 0; i < records.length; i += 2000) await log.append(p, records.slice(i, i + 2000));
        perPartition[p] = records.length;
      }
      await log.close();
      process.stderr.write(
        `duckstream demo: wrote ${perPartition.reduce((a, b) => a + b)} records to ${LOG_DIR} (partitions: ${perPartition.join(', ')}), ${BAD_LINES.length} of them malformed on purpose\n`,
      );
      process.stderr.write(`duckstream demo: running ${JOB} --trigger available-now --max-records-per-partition 500\n\n`);
      await runJob({
        jobFile: JOB,
        trigger: { kind: 'available-now' },
        caps: { maxRecordsPerPartition: 500 },
        note: (m) => process.stderr.write(`duckstream: ${m}\n`),
        onBatch: (p) => process.stderr.write(`${summarise(p)}\n`),
      });
      const catalog = resolve('out/pageview-errors/catalog.duckdb');
      process.stderr.write(
        [
          '',
          'Done. Outputs:',
          `  Parquet:      ${resolve('out/pageview-errors/errors')}/*.parquet`,
          `  Parquet:      ${resolve('out/pageview-errors/slow_pages')}/*.parquet`,
          `  dead letters: ${resolve('out/pageview-errors/pageviews.dead_letter')}/*.jsonl`,
          existsSync(catalog) ? `  notebook catalog: ${catalog}` : '',
          `  progress:     ${join('.duckstream/pageview-errors', 'progress.ndjson')}`,
          '',
          'Try:',
          `  npx duckstream status .duckstream/pageview-errors`,
          `  duckdb -c "SELECT status, count(*) FROM 'out/pageview-errors/errors/*.parquet' GROUP BY ALL"`,
          '',
        ].join('\n'),
      );
    });
}
