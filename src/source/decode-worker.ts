/**
 * A decode worker thread (see decode-pool.ts). Messages in: `{ id, task }`; out: `{ id, outcome }` with the
 * decoded column buffers transferred. Logs are opened once per directory and kept (the reader caches where
 * each partition ends, so the next batch does not scan for it again).
 */
import { parentPort } from 'node:worker_threads';
import { openLog, type EmbeddedLog } from '../log/index.js';
import { runDecodeTask, type DecodeOutcome, type DecodeTask } from './decode-task.js';
import { serializeError } from './worker-errors.js';

const port = parentPort!;
const logs = new Map<string, Promise<EmbeddedLog>>();

function logAt(dir: string): Promise<EmbeddedLog> {
  let log = logs.get(dir);
  if (!log) {
    log = openLog(dir);
    logs.set(dir, log);
    log.catch(() => logs.delete(dir));
  }
  return log;
}

port.on('message', (m: { id: number; task: DecodeTask }) => {
  void logAt(m.task.dir).then(
    (log) => {
      const { outcome, transfer } = runDecodeTask(log, m.task);
      port.postMessage({ id: m.id, outcome }, transfer);
    },
    (err: unknown) => {
      const outcome: DecodeOutcome = { ok: false, phase: 'read', error: serializeError(err) };
      port.postMessage({ id: m.id, outcome });
    },
  );
});
