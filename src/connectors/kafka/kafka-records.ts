import type { Message } from 'kafkajs';
import { userError } from '../../errors.js';
import { partitionForKey } from '../../log/murmur2.js';
import { ident, type Engine } from '../../sql/engine.js';

export interface RecordShape {
  readonly format: 'json' | 'text';
  /** Its value (as VARCHAR) becomes the record key; NULL → no key. */
  readonly keyColumn: string | undefined;
  /** An INTEGER column naming the partition explicitly. */
  readonly partitionColumn: string | undefined;
  /** text: the column sent as the value (default: the only column besides key/partition). */
  readonly valueColumn: string | undefined;
}

/** Batch header names: every record a duckstream Kafka sink writes carries them. */
export const BATCH_ID_HEADER = 'duckstream.batch_id';
export const SINK_HEADER = 'duckstream.sink';

/**
 * The SELECT that turns a batch's rows into (key, partition, value) strings inside DuckDB: json values are
 * `to_json` of a struct of every column but the partition column; text values are one column as VARCHAR.
 */
export async function recordQuery(engine: Engine, relation: string, shape: RecordShape, sinkName: string): Promise<string> {
  const columns = (await engine.all(`DESCRIBE ${relation}`)).map((r) => String(r['column_name']));
  const has = (c: string | undefined, option: string): string | undefined => {
    if (c === undefined) return undefined;
    if (!columns.includes(c))
      throw userError(
        `sink '${sinkName}': ${option} '${c}' is not a column of its query (columns: ${columns.join(', ')})`,
        `select a column named ${c}, or change ${option}`,
      );
    return c;
  };
  const key = has(shape.keyColumn, 'key_column');
  const partition = has(shape.partitionColumn, 'partition_column');
  let value: string;
  if (shape.format === 'json') {
    const fields = columns.filter((c) => c !== partition);
    value = `to_json(struct_pack(${fields.map((c) => `${ident(c)} := ${ident(c)}`).join(', ')}))::VARCHAR`;
  } else {
    const candidates = columns.filter((c) => c !== key && c !== partition);
    const v = has(shape.valueColumn, 'value_column') ?? (candidates.length === 1 ? candidates[0] : undefined);
    if (v === undefined)
      throw userError(
        `sink '${sinkName}': format 'text' sends one column, but the query has ${candidates.join(', ')}`,
        "set value_column = '<column>', or select one column",
      );
    value = `CAST(${ident(v)} AS VARCHAR)`;
  }
  const keyExpr = key ? `CAST(${ident(key)} AS VARCHAR)` : 'NULL::VARCHAR';
  const partExpr = partition ? `CAST(${ident(partition)} AS INTEGER)` : 'NULL::INTEGER';
  return `SELECT ${keyExpr} AS k, ${partExpr} AS p, ${value} AS v FROM ${relation}`;
}

/**
 * One Kafka message per row, partition chosen deterministically so a replayed batch goes where it went before:
 * the explicit column, else the Java client's murmur2 of the key, else (batch id + row number) mod partitions.
 */
export function toMessages(rows: readonly Record<string, unknown>[], o: { batchId: number; partitions: number; sinkName: string; topic: string }): Message[] {
  return rows.map((row, i) => {
    const key = row['k'] == null ? null : Buffer.from(String(row['k']));
    const explicit = row['p'];
    let partition: number;
    if (explicit != null) {
      partition = Number(explicit);
      if (!Number.isInteger(partition) || partition < 0 || partition >= o.partitions) {
        throw userError(
          `sink '${o.sinkName}': row ${i} of batch ${o.batchId} names partition ${String(explicit)}, but topic '${o.topic}' has partitions 0..${o.partitions - 1}`,
          'fix the partition column',
        );
      }
    } else if (key) partition = partitionForKey(key, o.partitions);
    else partition = (o.batchId + i) % o.partitions;
    return {
      key,
      value: row['v'] == null ? null : String(row['v']),
      partition,
      headers: { [BATCH_ID_HEADER]: String(o.batchId), [SINK_HEADER]: o.sinkName },
    };
  });
}
