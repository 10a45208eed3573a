/** A duration in milliseconds (Spark's `Duration`), the one unit of time in options, triggers and DStream windows. */
export type Duration = number;

export const millis = (n: number): Duration => n;
export const seconds = (n: number): Duration => n * 1000;
export const minutes = (n: number): Duration => n * 60_000;

const UNITS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** '500ms', '1s', '5 seconds', '2m' → milliseconds; undefined if it is not a duration. */
export function parseDuration(text: string): Duration | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

/** The shortest exact text for a duration, for messages: '2 min', '30 s', '250 ms'. */
export function formatDuration(ms: Duration): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
