// Long fault loops (many kills, cuts, restarts), outside the default suite's time budget: npm run test:faults
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/faults/**/*.faults.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 600_000,
  },
});
