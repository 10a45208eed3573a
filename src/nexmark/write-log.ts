import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLog, openLog, type EmbeddedLog } from '../log/index.js';
import type { EventKind, NexmarkConfig } from './config.js';
import { NexmarkGenerator } from './generator.js';

export const EVENT_KINDS: readonly EventKind[] = ['person', 'auction', 'bid'];

export interface WriteNexmarkOptions {
  readonly dir: string;
  readonly events: number;
  readonly partitions: number;
  /** Events generated and appended per step (one append, one fsync, per kind and partition). */
  readonly chunk?: number;
  /** Append in wall-clock time at the event rate (event time ≈ append time) instead of as fast as possible. */
  readonly realtime?: boolean;
  readonly signal?: AbortSignal;
  readonly onChunk?: (eventsSoFar: number) => void;
}

export interface WriteNexmarkResult {
  events: number;
  records: Record<EventKind, number>;
  bytes: number;
  wallMs: number;
}

/**
 * Generate Nexmark events into three embedded logs, `<dir>/person`, `<dir>/auction` and `<dir>/bid` (created with
 * `partitions` partitions, or appended to if they exist). Records carry no key; their log timestamp is the append
 * time, their `date_time` the event time.
 */
export async function writeNexmarkLogs(config: NexmarkConfig, o: WriteNexmarkOptions): Promise<WriteNexmarkResult> {
  const logs = {} as Record<EventKind, EmbeddedLog>;
  for (const k of EVENT_KINDS) {
    const path = join(o.dir, k);
    logs[k] = existsSync(join(path, 'log.json')) ? await openLog(path) : await createLog(path, { partitions: o.partitions });
  }
  const partitions = Math.min(...EVENT_KINDS.map((k) => logs[k].partitionCount()));
  const chunk = o.chunk ?? (o.realtime ? Math.max(1, Math.round(config.rate / 100)) : 100_000);
  const gen = new NexmarkGenerator(config, partitions);
  const records: Record<EventKind, number> = { person: 0, auction: 0, bid: 0 };
  let bytes = 0;
  const t0 = performance.now();
  const wallStart = Date.now();
  try {
    while (gen.eventsSoFar < o.events && !o.signal?.aborted) {
      const n = Math.min(chunk, o.events - gen.eventsSoFar);
      if (o.realtime) {
        const due = wallStart + (gen.nextEventTime - config.baseTime);
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const out = gen.generate(n);
      const appends: Promise<unknown>[] = [];
      for (const k of EVENT_KINDS) {
        out[k].forEach((w, p) => {
          if (w.records === 0) return;
          records[k] += w.records;
          bytes += w.pos;
          appends.push(logs[k].append(p, w.views().map((value) => ({ value }))));
        });
      }
      await Promise.all(appends);
      o.onChunk?.(gen.eventsSoFar);
    }
  } finally {
    for (const k of EVENT_KINDS) await logs[k].close();
  }
  return { events: gen.eventsSoFar, records, bytes, wallMs: performance.now() - t0 };
}
