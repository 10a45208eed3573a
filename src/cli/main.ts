#!/usr/bin/env node
import { Command } from 'commander';
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
    .showHelpAfterError();
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

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (caught) {
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
