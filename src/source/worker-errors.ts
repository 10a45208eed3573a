import { CorruptFileError, DuckstreamError, type ErrorDomain } from '../errors.js';

/**
 * Errors crossing a worker-thread boundary. Structured clone keeps only an Error's name, message and stack, not
 * its class or fields, so a decode worker's CorruptFileError would arrive as a plain Error: callers (and the
 * driver's retry rules) tell errors apart by class, domain and `retriable`, so those travel explicitly.
 */
export interface SerializedError {
  readonly kind: 'corrupt-file' | 'duckstream' | 'error';
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly domain?: ErrorDomain;
  readonly retriable?: boolean;
  readonly fix?: string | undefined;
  readonly file?: string;
  /** Node system error fields (ENOENT and the like). */
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
  readonly cause?: SerializedError;
}

export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { kind: 'error', name: 'Error', message: String(err), stack: undefined };
  const e = err as NodeJS.ErrnoException;
  const cause = depth < 4 && err.cause !== undefined ? { cause: serializeError(err.cause, depth + 1) } : {};
  const system = {
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.errno === 'number' ? { errno: e.errno } : {}),
    ...(typeof e.syscall === 'string' ? { syscall: e.syscall } : {}),
    ...(typeof e.path === 'string' ? { path: e.path } : {}),
  };
  const base = { name: err.name, message: err.message, stack: err.stack, ...system, ...cause };
  if (err instanceof CorruptFileError) {
    return { kind: 'corrupt-file', ...base, domain: err.domain, retriable: err.retriable, fix: err.fix, file: err.file };
  }
  if (err instanceof DuckstreamError) return { kind: 'duckstream', ...base, domain: err.domain, retriable: err.retriable, fix: err.fix };
  return { kind: 'error', ...base };
}

/** The same error rebuilt on this side: same class, message, fields and (the worker's) stack. */
export function reviveError(s: SerializedError): Error {
  const cause = s.cause ? reviveError(s.cause) : undefined;
  let err: Error;
  if (s.kind === 'corrupt-file') err = new CorruptFileError(s.file ?? '', '', s.fix);
  else if (s.kind === 'duckstream') err = new DuckstreamError('', { domain: s.domain ?? 'internal', retriable: s.retriable ?? false, fix: s.fix });
  else err = new Error('');
  // The constructors compose the message from parts; the worker's text is the exact result, so it wins.
  err.message = s.message;
  if (err.name !== s.name) err.name = s.name;
  if (s.stack !== undefined) err.stack = s.stack;
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, writable: true, configurable: true });
  const e = err as NodeJS.ErrnoException;
  if (s.code !== undefined) e.code = s.code;
  if (s.errno !== undefined) e.errno = s.errno;
  if (s.syscall !== undefined) e.syscall = s.syscall;
  if (s.path !== undefined) e.path = s.path;
  return err;
}
