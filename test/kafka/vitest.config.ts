// Local config for running only the Kafka tests with their globalSetup:
//   npx vitest run --config test/kafka/vitest.config.ts
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/kafka/**/*.test.ts'],
    globalSetup: ['test/kafka/global-setup.ts'],
  },
});
