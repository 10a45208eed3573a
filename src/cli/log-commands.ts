import type { Readable } from 'node:stream';
import { Command, Option } from 'commander';
import { userError } from '../errors.js';
import { parseWholeNumber } from '../util/whole-number.js';
import { createLog, openLog, partitionForKey, type AppendRecord, type EmbeddedLog } from '../log/index.js';

/** Records per `append()` call: one write and one fsync each. */
const APPEND_CHUNK = 10_000;
const READ_CHUNK = 10_000;
const MAX_BAD_LINES_SHOWN = 10;

/** `duckstream log create|append|describe|read`: manage embedded logs from the shell. */
export function registerLogCommands(program: Command): void {
  const log = program.command('log').description('create, append to, describe and read embedded logs');

  log
    .command('create <dir>')
    .description('create an embedded log (a directory with one sub-directory per partition)')
    .requiredOption('--partitions <n>', 'number of partitions')
    .option('--segment-bytes <n>', 'roll segment files at this size (default 64 MiB)')
    .action(async (dir: string, opts: { partitions: string; segmentBytes?: string }) => {
      const created = await createLog(dir, {
        partitions: parseCount(opts.partitions, '--partitions'),
        segmentBytes: opts.segmentBytes === undefined ? undefined : parseCount(opts.segmentBytes, '--segment-bytes'),
      });
      await created.close();
      process.stdout.write(`created log ${dir} with ${created.partitionCount()} partition(s)\n`);
    });

  log
    .command('append <dir>')
    .description('append stdin, one record per line, stored byte for byte; nothing is appended if any line is invalid')
    .addOption(
      new Option('--format <format>', 'input format: json (NDJSON), text (UTF-8 lines), raw (any bytes per line, stored as given)')
        .choices(['json', 'text', 'raw'])
        .default('json'),
    )
    .option('--key-field <name>', 'JSON field whose value (as a string) is the record key and picks the partition (murmur2)')
    .option('--partition <n>', 'append everything to this partition')
    .option('--timestamp-field <name>', 'JSON field holding the record time (ISO 8601 string or epoch ms); default: now')
    .action(async (dir: string, opts: AppendOptions) => {
      await appendCommand(dir, opts, process.stdin);
    });

  log
    .command('describe <dir>')
    .description('partitions with their start/end offsets, sizes and segment counts')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const opened = await openLog(dir);
      const parts = opened.describe();
      if (opts.json) {
        const rows = parts.map((p) => ({ ...p, startOffset: p.startOffset.toString(), endOffset: p.endOffset.toString() }));
        process.stdout.write(JSON.stringify({ dir, topic: opened.topic, partitions: rows }, null, 2) + '\n');
        return;
      }
      const lines = [['partition', 'start', 'end', 'records', 'bytes', 'segments'].join('\t')];
      for (const p of parts) {
        lines.push([p.partition, p.startOffset, p.endOffset, p.endOffset - p.startOffset, p.bytes, p.segments].join('\t'));
      }
      process.stdout.write(lines.join('\n') + '\n');
    });

  log
    .command('read <dir>')
    .description('print records as: partition, offset, timestamp, key, value (tab-separated; \\t \\n \\\\ escaped; null key empty)')
    .option('--partition <n>', 'only this partition (default: all, in order)')
    .option('--from <offset>', 'first offset to print in each partition (default: its start)')
    .option('--limit <k>', 'print at most this many records in total')
    .action(async (dir: string, opts: { partition?: string; from?: string; limit?: string }) => {
      await readCommand(dir, opts);
    });
}

interface AppendOptions {
  format: 'json' | 'text' | 'raw';
  keyField?: string;
  partition?: string;
  timestampField?: string;
}

interface ParsedLine {
  /** The line's bytes exactly as read. */
  readonly value: Uint8Array;
  readonly key: string | null;
  readonly timestamp: number | undefined;
}

export async function appendCommand(dir: string, opts: AppendOptions, input: Readable): Promise<void> {
  if (opts.format !== 'json' && (opts.keyField || opts.timestampField)) {
    throw userError('--key-field and --timestamp-field need --format json', 'drop them, or feed NDJSON with --format json');
  }
  const log = await openLog(dir);
  const partitions = log.partitionCount();
  const fixed = opts.partition === undefined ? undefined : parseIndex(opts.partition, '--partition');
  if (fixed !== undefined && fixed >= partitions) {
    throw userError(`log ${dir} has no partition ${fixed} (it has ${partitions})`, `use --partition 0 to ${partitions - 1}`);
  }
  const lines = await readAllLines(input, opts);
  const groups = Array.from({ length: partitions }, () => [] as AppendRecord[]);
  let next = 0;
  for (const line of lines) {
    const key = line.key === null ? null : Buffer.from(line.key, 'utf8');
    const p = fixed ?? (key ? partitionForKey(key, partitions) : next++ % partitions);
    groups[p]!.push({ key, value: line.value, timestamp: line.timestamp });
  }
  try {
    for (let p = 0; p < partitions; p++) {
      const records = groups[p]!;
      for (let i = 0; i < records.length; i += APPEND_CHUNK) await log.append(p, records.slice(i, i + APPEND_CHUNK));
    }
  } finally {
    await log.close();
  }
  const counts = groups.map((g, p) => [p, g.length] as const).filter(([, n]) => n > 0);
  process.stdout.write(`appended ${lines.length} record(s) to ${dir}\n`);
  for (const [p, n] of counts) process.stdout.write(`  partition ${p}: ${n}\n`);
}

/** All input lines, validated: throws (listing at most 10 line numbers) if any line is bad. */
async function readAllLines(input: Readable, opts: AppendOptions): Promise<ParsedLine[]> {
  const out: ParsedLine[] = [];
  const bad: string[] = [];
  let badCount = 0;
  let lineNo = 0;
  const now = Date.now();
  for (const bytes of splitLines(await readAll(input), opts.format !== 'raw')) {
    lineNo++;
    if (opts.format === 'raw') {
      out.push({ value: bytes, key: null, timestamp: undefined });
      continue;
    }
    // The bytes are stored as given; decoding only checks them (and lets JSON be read for keys and times).
    const line = utf8OrUndefined(bytes);
    let parsed: ParsedLine | string;
    if (line === undefined) parsed = 'not valid UTF-8 (use --format raw to store bytes that are not text)';
    else if (opts.format === 'text') parsed = { value: bytes, key: null, timestamp: undefined };
    else if (line.trim() === '') continue;
    else parsed = parseJsonLine(line, bytes, opts, now);
    if (typeof parsed === 'string') {
      if (++badCount <= MAX_BAD_LINES_SHOWN) bad.push(`  line ${lineNo}: ${parsed}`);
    } else {
      out.push(parsed);
    }
  }
  if (badCount > 0) {
    const more = badCount > MAX_BAD_LINES_SHOWN ? `\n  … and ${badCount - MAX_BAD_LINES_SHOWN} more` : '';
    throw userError(
      `nothing appended: ${badCount} of ${lineNo} input line(s) are invalid:\n${bad.join('\n')}${more}`,
      'fix or remove those lines and run the append again',
    );
  }
  return out;
}

async function readAll(input: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * The input's lines as bytes, split at LF only (a byte, never a decoded character). A final LF ends the last line
 * rather than starting an empty one. `stripCr`: a CR before the LF belongs to the line ending (text and JSON).
 */
export function splitLines(input: Buffer, stripCr: boolean): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (start < input.length) {
    const lf = input.indexOf(0x0a, start);
    const end = lf < 0 ? input.length : lf;
    lines.push(input.subarray(start, stripCr && end > start && input[end - 1] === 0x0d ? end - 1 : end));
    start = end + 1;
  }
  return lines;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The parsed line, or why it is invalid. */
function parseJsonLine(line: string, bytes: Uint8Array, opts: AppendOptions, now: number): ParsedLine | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return `invalid JSON (${(err as Error).message})`;
  }
  const obj = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  let key: string | null = null;
  if (opts.keyField !== undefined) {
    const k = obj?.[opts.keyField];
    if (k !== undefined && k !== null) key = typeof k === 'string' ? k : JSON.stringify(k);
  }
  let timestamp: number | undefined;
  if (opts.timestampField !== undefined) {
    const t = parseTimestamp(obj?.[opts.timestampField]);
    if (t === undefined) return `field "${opts.timestampField}" is missing or not an ISO 8601 time or epoch ms`;
    timestamp = t;
  }
  return { value: bytes, key, timestamp: timestamp ?? now };
}

function parseTimestamp(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

async function readCommand(dir: string, opts: { partition?: string; from?: string; limit?: string }): Promise<void> {
  const log = await openLog(dir);
  process.stdout.on('error', () => undefined); // EPIPE when the reader goes away: stop quietly (writeOut sees it)
  const count = log.partitionCount();
  const only = opts.partition === undefined ? undefined : parseIndex(opts.partition, '--partition');
  if (only !== undefined && only >= count) throw userError(`log ${dir} has no partition ${only} (it has ${count})`);
  const from = opts.from === undefined ? undefined : BigInt(parseIndex(opts.from, '--from'));
  let left = opts.limit === undefined ? Infinity : parseIndex(opts.limit, '--limit');
  const partitions = only === undefined ? [...Array(count).keys()] : [only];
  for (const p of partitions) {
    if (left <= 0) break;
    const start = log.startOffset(p);
    const end = log.endOffset(p);
    let at = from === undefined || from < start ? start : from;
    while (at < end && left > 0) {
      const until = minBig(end, at + BigInt(Math.min(READ_CHUNK, left)));
      const batch = log.read(p, at, until);
      left -= batch.count;
      at = until;
      if (!(await writeOut(formatBatch(p, batch)))) return;
    }
  }
}

function formatBatch(p: number, batch: ReturnType<EmbeddedLog['read']>): string {
  const lines: string[] = [];
  for (let i = 0; i < batch.count; i++) {
    const ts = batch.timestamps[i]!;
    const time = Number.isFinite(ts) && Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : String(ts);
    lines.push(`${p}\t${batch.offsets[i]}\t${time}\t${field(batch.keys[i] ?? null)}\t${field(batch.values[i] ?? null)}\n`);
  }
  return lines.join('');
}

function field(bytes: Uint8Array | null): string {
  if (bytes === null) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('utf8')
    .replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Write to stdout honouring back-pressure; false once stdout is closed (e.g. piped into `head`). */
function writeOut(text: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (process.stdout.destroyed) return resolve(false);
    const ok = process.stdout.write(text, (err) => {
      if (err) resolve(false);
    });
    if (ok) resolve(true);
    else process.stdout.once('drain', () => resolve(true));
  });
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function parseCount(s: string, name: string): number {
  const n = parseIndex(s, name);
  if (n < 1) throw userError(`${name} must be at least 1, got ${s}`);
  return n;
}

function parseIndex(s: string, name: string): number {
  const n = parseWholeNumber(s);
  if (n === undefined) throw userError(`${name} must be a whole number ≥ 0 in decimal digits, got "${s}"`);
  return n;
}
