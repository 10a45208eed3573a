import { describe, expect, it } from 'vitest';
import { duckstream } from '../support/cli.js';

describe('duckstream connectors', () => {
  it('lists every connector of the one registry, with the options each side takes', () => {
    const run = duckstream(['connectors', '--json']);
    expect(run.status, run.stderr).toBe(0);
    const rows = JSON.parse(run.stdout) as { connector: string; source: string[] | null; sink: string[] | null }[];
    expect(rows.map((r) => r.connector)).toEqual(['log', 'parquet', 'jsonl', 'duckdb', 'console', 'kafka', 'nats', 'postgres', 'mqtt', 'amqp']);
    const log = rows.find((r) => r.connector === 'log')!;
    expect(log.sink).toBeNull();
    expect(log.source).toEqual([
      'path',
      'format',
      'schema',
      'event_time',
      'watermark',
      'idle_timeout',
      'late_data_path',
      'max_value_bytes',
      'dead_letter_path',
      'starting_offsets',
    ]);
    expect(rows.find((r) => r.connector === 'parquet')!.source).toBeNull();
    const kafka = rows.find((r) => r.connector === 'kafka')!;
    expect(kafka.source).toContain('read_ahead');
    // Every source takes the options of src/connectors/source-options.ts (issue 15 item 4).
    for (const common of ['format', 'schema', 'event_time', 'watermark', 'idle_timeout', 'late_data_path', 'dead_letter_path']) {
      for (const r of rows.filter((x) => x.source !== null)) expect(r.source, r.connector).toContain(common);
    }
    expect(kafka.sink).toContain('transactional_id');
  });

  it('prints a table for people', () => {
    const run = duckstream(['connectors']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^log {7}source: path, format, schema, event_time,/m);
    expect(run.stdout).toMatch(/^console {3}sink: max_rows$/m);
    expect(run.stdout).toMatch(/^kafka {5}source: brokers, [^\n]*\n {10}sink: brokers,/m);
  });
});
