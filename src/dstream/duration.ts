/** A duration in milliseconds (Spark's `Duration`): build it with `millis`, `seconds` or `minutes`. */
export type Duration = number;

export const millis = (n: number): Duration => n;
export const seconds = (n: number): Duration => n * 1000;
export const minutes = (n: number): Duration => n * 60_000;

export function formatDuration(ms: Duration): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
