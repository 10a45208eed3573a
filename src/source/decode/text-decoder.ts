import type { ValueColumn } from './columns.js';
import type { RecordDecoder } from './record-decoder.js';
import { firstInvalidUtf8 } from './text-values.js';
import { isUtf8 } from 'node:buffer';

/** The whole value as one UTF-8 string column, bytes copied as they are. */
export class PlainTextDecoder implements RecordDecoder {
  constructor(private readonly column: ValueColumn) {}

  decode(value: Uint8Array, row: number): string | null {
    if (!isUtf8(value)) return `value is not valid UTF-8 (bad byte at ${firstInvalidUtf8(value, 0, value.length)})`;
    this.column.utf8!.setBytes(row, value, 0, value.length);
    this.column.validity.valid(row);
    return null;
  }
}
