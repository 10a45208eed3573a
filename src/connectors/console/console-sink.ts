import type { Writable } from 'node:stream';
import type { Engine } from '../../sql/engine.js';
import type { Sink, SinkBatch } from '../../sink/sink.js';

export interface ConsoleSinkOptions {
  /** Rows shown per batch (default 20, as Spark's console sink). */
  readonly maxRows?: number;
  /** Where to print (default process.stdout). */
  readonly out?: Writable;
}

const RULE = '-------------------------------------------';
/** Cells longer than this are cut to 17 characters + "..." (Spark's `show(truncate = true)`). */
const MAX_CELL = 20;

/**
 * Prints each batch as Spark's console sink does: a `Batch: N` header, then the rows as an aligned table.
 *
 * At-least-once by nature: a batch replayed after a crash is printed again (there is nothing to overwrite on a
 * terminal). For debugging and demos, not for outputs that must be exact.
 */
export class ConsoleSink implements Sink {
  private readonly maxRows: number;
  private readonly out: Writable;

  constructor(
    readonly name: string,
    options: ConsoleSinkOptions = {},
  ) {
    this.maxRows = options.maxRows ?? 20;
    this.out = options.out ?? process.stdout;
  }

  async open(_engine: Engine): Promise<void> {}

  async addBatch(batch: SinkBatch): Promise<void> {
    const { columns, rows } = await batch.engine.exclusive(async (c) => {
      const reader = await c.runAndReadAll(`SELECT * FROM ${batch.relation} LIMIT ${this.maxRows + 1}`);
      return { columns: reader.columnNames(), rows: reader.getRowsJson() };
    });
    const shown = rows.slice(0, this.maxRows).map((row) => row.map(formatCell));
    let text = `${RULE}\nBatch: ${batch.batchId}\n${RULE}\n${formatTable(columns.map(formatCell), shown)}`;
    if (rows.length > this.maxRows) text += `only showing top ${this.maxRows} rows\n`;
    // One write per batch, so batches of several console sinks never interleave line by line.
    this.out.write(`${text}\n`);
  }

  async close(): Promise<void> {}
}

/** Spark's `show()` layout: `+---+` rules, `|` separators, cells right-aligned, columns at least 3 wide. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((name, i) => Math.max(3, name.length, ...rows.map((row) => (row[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w)).join('+')}+\n`;
  const line = (cells: readonly string[]): string => `|${widths.map((w, i) => (cells[i] ?? '').padStart(w)).join('|')}|\n`;
  return rule + line(header) + rule + rows.map(line).join('') + rule;
}

function formatCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = 'NULL';
  else if (typeof value === 'string') text = value;
  else text = JSON.stringify(value);
  text = text.replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 3)}...` : text;
}
