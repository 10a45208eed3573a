import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { duckstream } from '../support/cli.js';

/** Exit codes and flags as the CLI's neighbours have them: 0 ok, 1 runtime failure, 2 usage or user error. */
describe('CLI conventions', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = duckstream([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });

  it('an unknown flag, an unknown command or a missing argument exits 2 with the message', () => {
    const flag = duckstream(['run', 'jobs/pageview-errors.sql', '--no-such-flag']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain("unknown option '--no-such-flag'");
    const command = duckstream(['rnu']);
    expect(command.status).toBe(2);
    expect(command.stderr).toContain("unknown command 'rnu'");
    const missing = duckstream(['run']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'job'");
  });

  it('--help exits 0', () => {
    const r = duckstream(['run', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: duckstream run');
  });
});
