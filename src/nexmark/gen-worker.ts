/**
 * A worker thread of `writeNexmarkLogs`: appends the events of the partitions p with p % workers === index.
 * Messages to the parent: { progress: eventsSoFar } per step, then { result } or { error }. A 'stop' message
 * from the parent ends it after the current step.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { appendEvents } from './append-events.js';
import type { NexmarkConfig } from './config.js';

export interface GenWorkerData {
  readonly config: NexmarkConfig;
  readonly dir: string;
  readonly events: number;
  readonly partitions: number;
  readonly index: number;
  readonly workers: number;
  readonly chunk: number;
}

const port = parentPort!;
const d = workerData as GenWorkerData;
let stop = false;
port.on('message', (m) => {
  if (m === 'stop') stop = true;
});
try {
  const result = await appendEvents(d.config, {
    dir: d.dir,
    events: d.events,
    partitions: d.partitions,
    owns: (p) => p % d.workers === d.index,
    chunk: d.chunk,
    realtime: false,
    stopped: () => stop,
    onChunk: (progress) => port.postMessage({ progress }),
  });
  port.postMessage({ result });
} catch (err) {
  port.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
port.close();
