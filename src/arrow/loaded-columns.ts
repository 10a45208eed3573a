import type * as arrow from 'apache-arrow';
import { METADATA_NAMES } from '../source/metadata-columns.js';

/**
 * `table` without the metadata columns that are not in `keep` (lower-case names): the columns loaded into DuckDB
 * for a job whose queries do not name them. The appender's work grows with the column count, and a stateless job
 * rarely reads `_topic` or `_offset`. Value columns are never dropped here (the decoder already left out the unread
 * ones). A table needs one column: when none would be left, `_offset` stays (queries such as `count(*)` name none).
 */
export function withoutUnreadMetadata(table: arrow.Table, keep: ReadonlySet<string>): arrow.Table {
  const names = table.schema.fields.map((f) => f.name);
  const kept = names.filter((n) => !METADATA_NAMES.has(n) || keep.has(n));
  if (kept.length === names.length) return table;
  return table.select(kept.length > 0 ? kept : names.filter((n) => n === '_offset'));
}
