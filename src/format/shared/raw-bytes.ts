import type { RawRecordBatch } from '../../source/source.js';

/*
 * Reading a record's key or value whichever way its batch carries them: positions into shared buffers
 * (`batch.bytes`, the fast path) or one view per record. The hot loops branch on `batch.bytes` themselves;
 * these are for the rare per-record uses (dead letters, samples, inference).
 */

/** Record `i`'s value as a view (no copy), or null when it has none. */
export function valueOf(batch: RawRecordBatch, i: number): Uint8Array | null {
  const c = batch.bytes;
  if (!c) return batch.values[i] ?? null;
  return view(c.chunks[c.chunkOf[i]!]!, c.valueStart[i]!, c.valueLength[i]!);
}

/** Record `i`'s key as a view (no copy), or null when it has none. */
export function keyOf(batch: RawRecordBatch, i: number): Uint8Array | null {
  const c = batch.bytes;
  if (!c) return batch.keys[i] ?? null;
  return view(c.chunks[c.chunkOf[i]!]!, c.keyStart[i]!, c.keyLength[i]!);
}

/** Byte length of record `i`'s key, 0 when it has none. */
export function keyLength(batch: RawRecordBatch, i: number): number {
  const c = batch.bytes;
  if (!c) return batch.keys[i]?.length ?? 0;
  return Math.max(0, c.keyLength[i]!);
}

function view(chunk: Uint8Array, start: number, length: number): Uint8Array | null {
  return length < 0 ? null : chunk.subarray(start, start + length);
}
