import { describe, expect, it } from 'vitest';
import { PhaseTimer } from '../../src/driver/phase-timer.js';

describe('PhaseTimer', () => {
  it('passes results and errors through, sync and async, and charges only the phase named', async () => {
    const timer = new PhaseTimer();
    expect(timer.time('plan', () => 41 + 1)).toBe(42);
    await expect(timer.time('read', async () => 'rows')).resolves.toBe('rows');
    expect(() =>
      timer.time('sink', () => {
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    await expect(timer.time('commit', () => Promise.reject(new Error('rename failed')))).rejects.toThrow('rename failed');
    const { plan, read, sink, commit, ...untouched } = timer.times;
    for (const ms of [plan, read, sink, commit]) expect(ms).toBeGreaterThanOrEqual(0);
    expect(untouched).toEqual({ walCommit: 0, toArrow: 0, ingest: 0, transform: 0 });
  });

  it('adds time measured elsewhere, and sums a phase timed twice', () => {
    const timer = new PhaseTimer();
    timer.add('read', 5);
    timer.add('read', 2.5);
    timer.add('toArrow', 1);
    expect(timer.times).toEqual({ plan: 0, walCommit: 0, read: 7.5, toArrow: 1, ingest: 0, transform: 0, sink: 0, commit: 0 });
  });

  it('timeAfter starts the clock when the phase before settles, and rejects as its work does', async () => {
    const timer = new PhaseTimer();
    let release!: () => void;
    const sinks = new Promise<void>((r) => (release = r));
    let settled = false;
    const commit = timer.timeAfter('commit', sinks, Promise.resolve('committed')).then((v) => ((settled = true), v));
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(timer.times.commit).toBe(0);
    release();
    await expect(commit).resolves.toBe('committed');
    await expect(timer.timeAfter('commit', Promise.reject(new Error('sink failed')), Promise.reject(new Error('no commit')))).rejects.toThrow('no commit');
  });
});
