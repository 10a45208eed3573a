import { CorruptFileError, DuckstreamError, errorMessage } from '../errors.js';

/**
 * DuckDB's words for a database file it cannot trust: a block whose checksum does not match, a file cut short, a
 * header that is not DuckDB's, or a database it invalidated after such a read.
 */
const DAMAGED =
  /Corrupt database file|does not match stored checksum|not a valid DuckDB database file|Could not read enough bytes|Failed to read database header|database has been invalidated|is not a DuckDB database|The file is (?:too small|truncated)|Serialization Error|Could not read from file/i;

/**
 * The error DuckDB raised on `path`'s database as a CorruptFileError naming the file (DuckDB's messages name a
 * block, not the file); undefined when the error is not about a damaged file.
 */
export function damagedDatabaseError(path: string, err: unknown, fix: string): CorruptFileError | undefined {
  if (err instanceof DuckstreamError) return undefined;
  const message = errorMessage(err);
  if (!DAMAGED.test(message) || /No space left on device/i.test(message)) return undefined;
  return new CorruptFileError(path, `damaged DuckDB database (${message.split('\n')[0]})`, fix);
}
