/**
 * When to let a read-ahead chance go: after a batch read ahead for nothing (the next plan differed, say an interval
 * trigger behind a backlog with a per-batch cap shared by backlog, where data appended between batches changes every
 * plan), the next 1, 2, 4 … 16 chances are skipped, so the work is not done for nothing batch after batch.
 */
export class ReadAheadBackoff {
  private backoff = 0;
  private skip = 0;

  /** Whether to read ahead at this chance (false while skipping). */
  take(): boolean {
    if (this.skip === 0) return true;
    this.skip--;
    return false;
  }

  used(): void {
    this.backoff = 0;
  }

  discarded(): void {
    this.backoff = Math.min(16, Math.max(1, this.backoff * 2));
    this.skip = this.backoff;
  }
}
