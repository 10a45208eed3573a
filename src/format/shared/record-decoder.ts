/** How a record's value bytes are read: a JSON object, UTF-8 text, one csv line, or raw bytes (a BLOB). */
export type ValueFormat = 'json' | 'text' | 'csv' | 'raw';

/**
 * Decodes one record value, the bytes `b[start, end)`, into row `row` of the value columns. Returns null when
 * the row is complete, or the reason the record is dead-lettered (the caller then reuses the row for the next
 * record). `b` may hold other records' bytes around the value (the log's read buffers): never look outside.
 */
export interface RecordDecoder {
  decode(b: Uint8Array, start: number, end: number, row: number): string | null;
}
