import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/support/closing-line-reporter.ts'],
    globalSetup: ['test/global-setup.ts', 'test/kafka/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // vitest's default on 2 cores is 1 worker; most test time is spent waiting on child processes, brokers and fsync.
    maxWorkers: 2,
  },
});
