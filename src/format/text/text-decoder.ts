import type { ValueColumn } from '../shared/columns.js';
import type { RecordDecoder } from '../shared/record-decoder.js';
import { firstInvalidUtf8 } from '../shared/text-values.js';
import { isUtf8 } from 'node:buffer';

/** The whole value as one UTF-8 string column, bytes copied as they are. */
export class PlainTextDecoder implements RecordDecoder {
  constructor(private readonly column: ValueColumn) {}

  decode(b: Uint8Array, start: number, end: number, row: number): string | null {
    if (!isUtf8(b.subarray(start, end))) return `value is not valid UTF-8 (bad byte at ${firstInvalidUtf8(b, start, end) - start})`;
    this.column.utf8!.setBytes(row, b, start, end);
    this.column.validity.valid(row);
    return null;
  }
}
