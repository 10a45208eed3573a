import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DeadLetter } from '../source/source.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { padBatchId } from './batch-files.js';

/** One line of a dead-letter file. */
export interface DeadLetterRecord {
  readonly topic: string;
  readonly partition: number;
  /** Decimal string (offsets are 64-bit). */
  readonly offset: string;
  /** ISO 8601, or null when the record's timestamp is not a valid time. */
  readonly timestamp: string | null;
  /** The key as UTF-8 text, or null when absent or not valid UTF-8 (then see key_base64). */
  readonly key: string | null;
  readonly key_base64: string | null;
  readonly value: string | null;
  readonly value_base64: string | null;
  readonly reason: string;
  readonly batch_id: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Records that did not decode, kept whole: `<dir>/batch-<batchId padded to 10>.jsonl`, one JSON object per record,
 * written atomically (temp + fsync + rename). A batch without dead letters has no file. A replay writes the same
 * name with the same contents (same ranges ⇒ same records), so the directory is as if each batch was written once.
 */
export class DeadLetterWriter {
  constructor(
    readonly dir: string,
    /** fsync each file (the driver's fsync setting; false: survives process crashes only). */
    private readonly fsync = true,
  ) {}

  fileFor(batchId: number): string {
    return join(this.dir, `batch-${padBatchId(batchId)}.jsonl`);
  }

  write(batchId: number, letters: readonly DeadLetter[]): void {
    const file = this.fileFor(batchId);
    if (letters.length === 0) {
      rmSync(file, { force: true });
      return;
    }
    const lines = letters.map((letter) => JSON.stringify(toRecord(batchId, letter)));
    writeFileAtomic(file, `${lines.join('\n')}\n`, { fsync: this.fsync });
  }
}

export function toRecord(batchId: number, letter: DeadLetter): DeadLetterRecord {
  const time = new Date(letter.timestamp);
  return {
    topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset.toString(),
    timestamp: Number.isNaN(time.getTime()) ? null : time.toISOString(),
    key: decodeUtf8(letter.key),
    key_base64: letter.key === null ? null : Buffer.from(letter.key).toString('base64'),
    value: decodeUtf8(letter.value),
    value_base64: letter.value === null ? null : Buffer.from(letter.value).toString('base64'),
    reason: letter.reason,
    batch_id: batchId,
  };
}

function decodeUtf8(bytes: Uint8Array | null): string | null {
  if (bytes === null) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}
