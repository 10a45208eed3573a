/**
 * vitest globalSetup: builds the mock-broker harness once, before any test
 * file runs, so parallel workers do not race on gcc. Never throws: if the
 * prerequisites are missing, describeKafka() skips (locally) or fails
 * (CI=true) the Kafka suites with the reason.
 */
import { buildHarness, INSTALL_HINT } from './harness-build.js';

export default function setup(): void {
  try {
    buildHarness();
  } catch (e) {
    console.warn(`[kafka harness not built] ${(e as Error).message}${process.env.CI === 'true' ? '' : ` (Kafka tests will be skipped; ${INSTALL_HINT})`}`);
  }
}
