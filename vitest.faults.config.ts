import { defineConfig } from 'vitest/config';

/** Long fault loops (many SIGKILLs and restarts against the real services): `npm run test:faults`, not the default suite. */
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
