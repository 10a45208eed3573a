import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createLog } from '../../src/log/index.js';
import { duckstream } from '../support/cli.js';
import { runKillScenario } from './kill-harness.js';
import { describePostgres, dropCommits, dropTables, pgQuery, psql, uniqueName } from './pg-support.js';

describePostgres('duckstream run with postgres sinks', () => {
  it('SIGKILLed between a sink transaction and the commit log (2 kills): every table equals a clean run', async () => {
    await runKillScenario({ sinkKills: 2, randomKills: 0, partitions: 2, perPartition: 300, maxPerPartition: 50, seed: 3 });
  }, 60_000);

  it('a refused table is reported without the password of the url', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-pg-cli-'));
    const t = uniqueName('refused');
    const job = uniqueName('refusedjob');
    try {
      await pgQuery(`CREATE TABLE "${t}" (id text)`);
      const file = join(dir, `${job}.sql`);
      writeFileSync(
        file,
        `CREATE SOURCE ev WITH (connector = 'log', path = '${dir}/log', format = 'json', schema = 'id BIGINT');
         CREATE SINK out WITH (connector = 'postgres', url = 'postgres://postgres:CliS3cretPw@127.0.0.1:5432/test', table = '${t}') AS SELECT id FROM ev;`,
      );
      const log = await createLog(join(dir, 'log'), { partitions: 1 });
      await log.append(0, [{ value: '{"id": 1}' }]);
      await log.close();
      const run = duckstream(['run', file, '--checkpoint', join(dir, 'ck'), '--trigger', 'available-now']);
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`column "id" is text, but the query gives BIGINT`);
      expect(run.stderr).toContain('postgres://postgres:***@127.0.0.1:5432/test');
      expect(run.stderr + run.stdout).not.toContain('CliS3cretPw');
      expect(psql(`SELECT count(*) FROM "${t}"`)).toEqual(['0']);
    } finally {
      await dropTables(t);
      await dropCommits(job);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
