import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HEADERLESS_TRAILER, KEYLESS_VALUE_START, openLog, type EmbeddedLog } from '../log/index.js';
import type { EventKind, NexmarkConfig } from './config.js';
import { NexmarkGenerator, type EventChunk } from './generator.js';

export const EVENT_KINDS: readonly EventKind[] = ['person', 'auction', 'bid'];

const FRAMING = KEYLESS_VALUE_START + HEADERLESS_TRAILER;

export interface AppendEventsOptions {
  /** Directory holding the three logs (they must exist). */
  readonly dir: string;
  /** Generate events 0 … events − 1. */
  readonly events: number;
  /** Partitions per log: events go round-robin over them. */
  readonly partitions: number;
  /** Which partitions this thread appends to; the others' events are skipped (another thread does them). */
  readonly owns: (partition: number) => boolean;
  /** Events generated per step (one append per owned kind and partition). */
  readonly chunk: number;
  readonly realtime: boolean;
  /** Polled between steps. */
  readonly stopped: () => boolean;
  readonly onChunk?: (eventsSoFar: number) => void;
}

export interface AppendEventsResult {
  /** Events stepped through (including those of partitions another thread owns). */
  events: number;
  records: Record<EventKind, number>;
  /** Bytes of JSON values (without the log's framing). */
  bytes: number;
}

/**
 * Generate events into the owned partitions of the three logs. The generator writes framed log records straight
 * into its buffers and they are appended as they are (`appendFramed`: no object per record). Two sets of buffers
 * alternate, so the next step is generated while the previous one is written and fsynced.
 */
export async function appendEvents(config: NexmarkConfig, o: AppendEventsOptions): Promise<AppendEventsResult> {
  const logs = {} as Record<EventKind, EmbeddedLog>;
  for (const k of EVENT_KINDS) logs[k] = await openLog(join(o.dir, k));
  const gen = new NexmarkGenerator(config, o.partitions);
  const sets: EventChunk[] = [0, 1].map(() => gen.writers(Math.min(o.chunk, o.events), true, o.owns));
  const records: Record<EventKind, number> = { person: 0, auction: 0, bid: 0 };
  let bytes = 0;
  let pending: Promise<unknown> = Promise.resolve();
  const wallStart = Date.now();
  try {
    for (let step = 0; gen.eventsSoFar < o.events && !o.stopped(); step++) {
      const n = Math.min(o.chunk, o.events - gen.eventsSoFar);
      if (o.realtime) {
        const due = wallStart + (gen.nextEventTime - config.baseTime);
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const set = sets[step % 2]!;
      const now = Date.now();
      for (const k of EVENT_KINDS) for (const w of set[k]) (w.reset(), (w.timestamp = now));
      gen.generateInto(n, set);
      await pending; // the other set's appends: its buffers are free again after this
      const appends: Promise<unknown>[] = [];
      for (const k of EVENT_KINDS) {
        set[k].forEach((w, p) => {
          if (w.records === 0) return;
          records[k] += w.records;
          bytes += w.pos - w.records * FRAMING; // JSON bytes, as the Kafka writer and older versions count
          appends.push(logs[k].appendFramed(p, w.framedRecords()));
        });
      }
      pending = Promise.all(appends);
      o.onChunk?.(gen.eventsSoFar);
    }
    await pending;
  } finally {
    await pending.catch(() => undefined);
    for (const k of EVENT_KINDS) await logs[k].close();
  }
  return { events: gen.eventsSoFar, records, bytes };
}
