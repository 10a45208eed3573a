import { defineConfig } from 'vitest/config';

/** `npm run test:faults`: the long fault loops (many kills, many cuts), kept out of the default suite's time budget. */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts'],
    reporters: ['default', './test/support/closing-line-reporter.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
