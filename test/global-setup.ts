/**
 * vitest globalSetup: compile src/ to dist/ once, so tests that run the real CLI as a child process
 * (`node dist/src/cli/main.js …`, SIGKILL tests, README commands) run today's code.
 */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
