import { userError } from '../errors.js';
import { parseSchemaText, type ValueSchema } from '../source/schema.js';
import { RAW_SCHEMA, TEXT_SCHEMA, type ValueFormat } from './index.js';

/**
 * The value columns a source starts with: those declared (`CREATE SOURCE s (a INT, …)` or `schema = '…'`), the one
 * column of 'text' and 'raw', or undefined to infer them from the first batch ('json'). 'csv' fields have no names,
 * so csv needs declared columns.
 */
export function declaredSchema(source: string, format: ValueFormat, declared: string | undefined): ValueSchema | undefined {
  let schema: ValueSchema | undefined;
  try {
    schema = declared !== undefined ? parseSchemaText(declared) : format === 'text' ? TEXT_SCHEMA : format === 'raw' ? RAW_SCHEMA : undefined;
  } catch (err) {
    throw userError(`source '${source}': ${(err as Error).message}`);
  }
  if (format === 'csv' && !schema) throw userError(`source '${source}': csv needs declared columns`, "add schema = 'col1 TYPE, col2 TYPE, …' in field order");
  return schema;
}

/** The columns schema inference reads as timestamps: the event-time column, when it is a plain column name. */
export function timestampColumns(eventTime: string | undefined): string[] {
  return eventTime && /^[A-Za-z_][A-Za-z0-9_]*$/.test(eventTime) ? [eventTime] : [];
}
