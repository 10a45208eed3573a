#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DuckstreamError } from '../errors.js';
import { diskFullError } from '../util/io-failure.js';
import { registerConnectorsCommand } from './connectors-command.js';
import { registerDemoCommand } from './demo-command.js';
import { registerGenCommand } from './gen-command.js';
import { registerIngestCommand } from './ingest-command.js';
import { registerLogCommands } from './log-commands.js';
import { registerRunCommand } from './run-command.js';
import { registerStateCommand } from './state-command.js';
import { registerStatusCommand } from './status-command.js';

export function buildProgram(): Command {
  const program = new Command('duckstream')
    .description('Micro-batch stream processing: partitioned logs → Arrow → DuckDB SQL → exactly-once sinks')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    // Usage errors (unknown flags and commands, missing arguments) are thrown, not exited with commander's 1: exit 2,
    // as for every other user error. Set before the commands are added, which inherit it.
    .exitOverride();
  registerRunCommand(program);
  registerStatusCommand(program);
  registerStateCommand(program);
  registerConnectorsCommand(program);
  registerLogCommands(program);
  registerIngestCommand(program);
  registerDemoCommand(program);
  registerGenCommand(program);
  return program;
}

/** The version in the package's package.json (three folders up from dist/src/cli/, as installed). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (caught) {
    if (caught instanceof CommanderError) {
      // commander has printed the message (or the help, or the version) already.
      process.exitCode = caught.exitCode === 0 ? 0 : 2;
      return;
    }
    const err = diskFullError(caught) ?? caught;
    if (err instanceof DuckstreamError) {
      process.stderr.write(`duckstream: ${err.message}\n`);
      process.exitCode = err.domain === 'user' ? 2 : 1;
    } else {
      process.stderr.write(`duckstream: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  }
}

await main();
