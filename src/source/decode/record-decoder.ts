/** How a record's value bytes are read: a JSON object, UTF-8 text, or one csv line. */
export type ValueFormat = 'json' | 'text' | 'csv';

/**
 * Decodes one record value into row `row` of the value columns. Returns null when the row is complete,
 * or the reason the record is dead-lettered (the caller then reuses the row for the next record).
 */
export interface RecordDecoder {
  decode(value: Uint8Array, row: number): string | null;
}
