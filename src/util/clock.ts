/** Time as the driver sees it; tests use ManualClock so that no test sleeps. */
export interface Clock {
  now(): number;
  /** Resolves when now() >= until (ms since epoch). */
  sleepUntil(until: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleepUntil: (until) =>
    new Promise((resolve) => {
      setTimeout(resolve, Math.max(0, until - Date.now()));
    }),
};

export class ManualClock implements Clock {
  private time: number;
  private waiters: { until: number; resolve: () => void }[] = [];

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleepUntil(until: number): Promise<void> {
    if (until <= this.time) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ until, resolve }));
  }

  advance(ms: number): void {
    this.time += ms;
    const ready = this.waiters.filter((w) => w.until <= this.time);
    this.waiters = this.waiters.filter((w) => w.until > this.time);
    for (const w of ready) w.resolve();
  }

  /** How many callers are blocked in sleepUntil: lets tests wait for the driver to go idle. */
  get sleepers(): number {
    return this.waiters.length;
  }
}
