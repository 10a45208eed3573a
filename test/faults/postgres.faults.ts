import { expect, it } from 'vitest';
import { runKillScenario } from '../postgres/kill-harness.js';
import { describePostgres } from '../postgres/pg-support.js';

describePostgres('postgres sinks under repeated SIGKILL', () => {
  it('20 kills between a sink transaction and the commit log, then 5 random ones: every table equals a clean run', async () => {
    const log = await runKillScenario({ sinkKills: 20, randomKills: 5, partitions: 4, perPartition: 2500, maxPerPartition: 50, seed: 17 });
    expect(log.split('\n').filter((l) => l.startsWith('sink kill')).length).toBe(20);
  }, 600_000);
});
