import type { Command } from 'commander';

/** `duckstream log …`: placeholder until the embedded log lands. */
export function registerLogCommands(program: Command): void {
  program.command('log').description('create, append to, describe and read embedded logs');
}
