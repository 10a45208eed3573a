import * as arrow from 'apache-arrow';
import { performance } from 'node:perf_hooks';
import { toColumnarBatch, type EmbeddedLog } from '../log/index.js';
import { decodeRecords, type DecodeOptions } from './decode/index.js';
import type { DeadLetter } from './source.js';
import { serializeError, type SerializedError } from './worker-errors.js';

/*
 * One partition's share of a log source batch, as a decode worker does it: read the range from the log and decode
 * it with the same `decodeRecords` the main thread uses. Only the result crosses threads: the Arrow column buffers
 * (transferred, not copied) and the dead letters (their bytes copied out of the read buffers, which stay behind).
 */

/** What a worker is asked to do. */
export interface DecodeTask {
  /** The log directory (the worker opens the log itself; raw bytes never cross threads). */
  readonly dir: string;
  readonly partition: number;
  readonly from: bigint;
  readonly until: bigint;
  readonly options: DecodeOptions;
}

/** One Arrow column of a decoded partition: the buffers of its `arrow.Data`. */
export interface PackedColumn {
  readonly length: number;
  readonly nullCount: number;
  readonly values: ArrayBufferView;
  readonly valueOffsets: Int32Array | undefined;
  readonly nullBitmap: Uint8Array | undefined;
}

/** A dead letter whose key and value are copies; `buffers` says whether they were Node Buffers (clone drops that). */
export interface PackedDeadLetter extends DeadLetter {
  readonly buffers: boolean;
}

export interface DecodedPart {
  readonly rows: number;
  readonly numRecords: number;
  readonly columns: readonly PackedColumn[];
  readonly deadLetters: readonly PackedDeadLetter[];
  readonly readMs: number;
  readonly decodeMs: number;
}

/**
 * The outcome of a task. A failure says in which phase it happened: the sequential path reads every partition
 * before decoding any, so of several failures a read error is the one it would have thrown.
 */
export type DecodeOutcome =
  | { readonly ok: true; readonly part: DecodedPart }
  | { readonly ok: false; readonly phase: 'read' | 'decode'; readonly error: SerializedError };

/** Run a task against an open log; `transfer` lists the buffers to hand over with the outcome. */
export function runDecodeTask(log: EmbeddedLog, task: DecodeTask): { outcome: DecodeOutcome; transfer: ArrayBuffer[] } {
  const t0 = performance.now();
  let raw;
  try {
    raw = toColumnarBatch(log.readColumns(task.partition, task.from, task.until));
  } catch (err) {
    return { outcome: { ok: false, phase: 'read', error: serializeError(err) }, transfer: [] };
  }
  const t1 = performance.now();
  try {
    const decoded = decodeRecords([raw], task.options);
    const batch = decoded.table.batches[0];
    const columns = batch ? batch.data.children.map(packColumn) : [];
    const deadLetters = decoded.deadLetters.map(packDeadLetter);
    const t2 = performance.now();
    const part: DecodedPart = { rows: decoded.table.numRows, numRecords: decoded.numRecords, columns, deadLetters, readMs: t1 - t0, decodeMs: t2 - t1 };
    return { outcome: { ok: true, part }, transfer: transferList(part) };
  } catch (err) {
    return { outcome: { ok: false, phase: 'decode', error: serializeError(err) }, transfer: [] };
  }
}

function packColumn(d: arrow.Data): PackedColumn {
  return {
    length: d.length,
    nullCount: d.nullCount,
    values: d.values as ArrayBufferView,
    valueOffsets: d.valueOffsets as Int32Array | undefined,
    nullBitmap: d.nullCount > 0 ? d.nullBitmap : undefined,
  };
}

function packDeadLetter(d: DeadLetter): PackedDeadLetter {
  // slice(): a view would drag its whole read chunk (up to 1 MiB) through the structured clone
  return { ...d, key: d.key?.slice() ?? null, value: d.value?.slice() ?? null, buffers: Buffer.isBuffer(d.value ?? d.key) };
}

function transferList(part: DecodedPart): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (v: ArrayBufferView | null | undefined) => {
    if (v && v.buffer instanceof ArrayBuffer && v.buffer.byteLength > 0) out.add(v.buffer);
  };
  for (const c of part.columns) {
    add(c.values);
    add(c.valueOffsets);
    add(c.nullBitmap);
  }
  for (const d of part.deadLetters) {
    add(d.key);
    add(d.value);
  }
  return [...out];
}

/** The partition's rows as a record batch of `schema` (which the caller builds, as `decodeRecords` does). */
export function unpackRows(schema: arrow.Schema, part: DecodedPart): arrow.RecordBatch {
  const children = part.columns.map((c, i) =>
    arrow.makeData({
      type: schema.fields[i]!.type,
      length: c.length,
      nullCount: c.nullCount,
      nullBitmap: c.nullBitmap ?? null,
      valueOffsets: c.valueOffsets,
      data: c.values,
    } as Parameters<typeof arrow.makeData>[0]),
  );
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: part.rows, nullCount: 0, children });
  return new arrow.RecordBatch(schema, struct);
}

export function unpackDeadLetter(p: PackedDeadLetter): DeadLetter {
  const wrap = (b: Uint8Array | null) => (b && p.buffers ? Buffer.from(b.buffer, b.byteOffset, b.length) : b);
  return { topic: p.topic, partition: p.partition, offset: p.offset, timestamp: p.timestamp, key: wrap(p.key), value: wrap(p.value), reason: p.reason };
}
