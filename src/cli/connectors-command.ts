import type { Command } from 'commander';
import { acceptedOptions } from '../connectors/options-error.js';
import { CONNECTORS } from '../connectors/registry.js';
import type { OptionsSpec } from '../connectors/options-error.js';
import type { z } from 'zod';

/** The registry's connectors as rows: name, whether it reads and/or writes, and the options each side takes. */
export function connectorRows(): { connector: string; source: string[] | null; sink: string[] | null }[] {
  const names = (spec: OptionsSpec<z.ZodType> | undefined) => (spec ? acceptedOptions(spec.options).slice(1) : null);
  return CONNECTORS.map((c) => ({ connector: c.name, source: names(c.source), sink: names(c.sink) }));
}

export function registerConnectorsCommand(program: Command): void {
  program
    .command('connectors')
    .description('list the connectors a job can name in WITH (connector = …), and the options each takes')
    .option('--json', 'print one JSON array')
    .action((flags: { json?: boolean }) => {
      const rows = connectorRows();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      // One line per side: the option lists are too long for a table.
      const width = Math.max(...rows.map((r) => r.connector.length)) + 2;
      const lines = rows.flatMap((r) => {
        const sides = [
          ['source', r.source],
          ['sink', r.sink],
        ].filter((x): x is [string, string[]] => x[1] !== null);
        return sides.map(([side, options], i) => `${(i === 0 ? r.connector : '').padEnd(width)}${side}: ${options.join(', ')}`);
      });
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
