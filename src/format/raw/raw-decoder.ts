import type { ValueColumn } from '../shared/columns.js';
import type { RecordDecoder } from '../shared/record-decoder.js';

/** The whole value as one BLOB column, bytes copied as they are (Kafka's raw format: anything goes). */
export class RawBytesDecoder implements RecordDecoder {
  constructor(private readonly column: ValueColumn) {}

  decode(b: Uint8Array, start: number, end: number, row: number): string | null {
    this.column.utf8!.setBytes(row, b, start, end);
    this.column.validity.valid(row);
    return null;
  }
}
