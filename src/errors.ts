/**
 * Every error duckstream throws on purpose. `domain` says whose move it is (Arroyo's split):
 * - user: the job, its options or its input are wrong; the message says how to fix it;
 * - external: a broker, disk or other system failed; `retriable` says whether trying again may help;
 * - internal: a bug in duckstream.
 */
export type ErrorDomain = 'user' | 'external' | 'internal';

export interface DuckstreamErrorOptions {
  domain: ErrorDomain;
  retriable?: boolean;
  /** What the user can do about it, appended to the message. */
  fix?: string;
  cause?: unknown;
}

export class DuckstreamError extends Error {
  readonly domain: ErrorDomain;
  readonly retriable: boolean;
  readonly fix: string | undefined;

  constructor(message: string, options: DuckstreamErrorOptions) {
    super(options.fix ? `${message}\n  fix: ${options.fix}` : message, { cause: options.cause });
    this.name = 'DuckstreamError';
    this.domain = options.domain;
    this.retriable = options.retriable ?? false;
    this.fix = options.fix;
  }
}

export function userError(message: string, fix?: string, cause?: unknown): DuckstreamError {
  return new DuckstreamError(message, { domain: 'user', fix, cause });
}

export function externalError(message: string, retriable: boolean, cause?: unknown): DuckstreamError {
  return new DuckstreamError(message, { domain: 'external', retriable, cause });
}

export function internalError(message: string, cause?: unknown): DuckstreamError {
  return new DuckstreamError(message, { domain: 'internal', cause });
}

/** A file of the checkpoint or the log is damaged; the message always names the file. */
export class CorruptFileError extends DuckstreamError {
  readonly file: string;
  constructor(file: string, what: string, fix?: string) {
    super(`${file}: ${what}`, { domain: 'external', retriable: false, fix });
    this.name = 'CorruptFileError';
    this.file = file;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
