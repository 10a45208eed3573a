import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Attempts after the first one (default 5). */
  readonly retries?: number;
  /** Wait before the first retry, ms (default 100). */
  readonly initialMs?: number;
  /** Longest wait between attempts, ms (default 5000). */
  readonly maxMs?: number;
  /** Growth of the wait per attempt (default 2). */
  readonly factor?: number;
  /** Whether an error is worth another attempt (default: every error). */
  readonly isRetriable?: (err: unknown) => boolean;
  /** Called before each wait: for notes and for resetting a client that an error left broken. */
  readonly onRetry?: (err: unknown, attempt: number, waitMs: number) => void | Promise<void>;
}

/**
 * Run `fn` until it succeeds, a non-retriable error is thrown, or the retries are used up (the last error is
 * rethrown). Waits grow exponentially with ±20% jitter, as kafkajs's retrier does, so clients that failed
 * together do not retry in step.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { retries = 5, initialMs = 100, maxMs = 5000, factor = 2, isRetriable = () => true, onRetry } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || !isRetriable(err)) throw err;
      const base = Math.min(maxMs, initialMs * factor ** attempt);
      const waitMs = Math.round(base * (0.8 + Math.random() * 0.4));
      await onRetry?.(err, attempt + 1, waitMs);
      await sleep(waitMs);
    }
  }
}
