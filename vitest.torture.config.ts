import { defineConfig } from 'vitest/config';

/**
 * `npm run torture`: the full torture suite (docs/reliability.md), outside the ordinary suite's time. Its short
 * version is test/torture/short.test.ts, in `npm test`.
 */
export default defineConfig({
  test: {
    include: ['test/torture/**/*.torture.ts', 'test/checkpoint/lock.test.ts'],
    env: { TORTURE: 'full' },
    reporters: ['default', './test/support/closing-line-reporter.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One scenario at a time: each is timed and several drivers at once would measure the machine, not the engine.
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
