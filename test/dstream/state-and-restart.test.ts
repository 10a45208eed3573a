/**
 * Spark's MapWithStateSuite cases (basic operation, state snapshots, timeouts, initial state), and restarts:
 * stopping, or crashing between protocol steps, in the middle of windowed and stateful pipelines gives the
 * outputs of a run that never stopped.
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DStream } from '../../src/dstream/dstream.js';
import { StateSpec } from '../../src/dstream/dstream.js';
import { seconds } from '../../src/util/duration.js';
import { sql } from '../../src/dstream/sql.js';
import { Engine } from '../../src/sql/engine.js';
import { norm, rows, runCase } from './harness.js';

const words = (...ws: string[]) => ws.map((w) => ({ w }));
const mwsInput = [[], words('a'), words('a', 'b'), words('a', 'b', 'c'), words('a', 'b'), words('a'), []];
// Spark: (key, value, state) => { val sum = Some(value.getOrElse(0) + state.getOption.getOrElse(0)); state.update(sum.get); sum }
const runningSum = StateSpec.function<number, number>((_key, value, state) => {
  const sum = ((value as number | undefined) ?? 0) + (state.getOption() ?? 0);
  state.update(sum);
  return sum;
}).types({ output: 'INTEGER', state: 'INTEGER' });

describe.concurrent("Spark's MapWithStateSuite", () => {
  it('mapWithState - basic operation: mapped values and state snapshots', async () => {
    const mapped = await runCase({ schema: 'w VARCHAR', input: mwsInput, operation: (s) => s.map(sql`w, 1 AS n`).mapWithState('w', runningSum) });
    expect(norm(mapped)).toEqual(norm(rows(['value'], [[], [1], [2, 1], [3, 2, 1], [4, 3], [5], []])));
    const snapshots = await runCase({
      schema: 'w VARCHAR',
      input: mwsInput,
      operation: (s) =>
        s
          .map(sql`w, 1 AS n`)
          .mapWithState('w', runningSum)
          .stateSnapshots(),
    });
    expect(norm(snapshots)).toEqual(
      norm(
        rows(
          ['w', 'state'],
          [
            [],
            [['a', 1]],
            [
              ['a', 2],
              ['b', 1],
            ],
            [
              ['a', 3],
              ['b', 2],
              ['c', 1],
            ],
            [
              ['a', 4],
              ['b', 3],
              ['c', 1],
            ],
            [
              ['a', 5],
              ['b', 3],
              ['c', 1],
            ],
            [
              ['a', 5],
              ['b', 3],
              ['c', 1],
            ],
          ],
        ),
      ),
    );
  });

  it('mapWithState - timeouts: an idle key is called once with isTimingOut, then dropped', async () => {
    const spec = StateSpec.function<number, string>((key, value, state) => {
      if (state.isTimingOut()) return `${String(key)} timed out at ${state.get()}`;
      state.update((state.getOption() ?? 0) + (value as number));
      return undefined as unknown as string;
    })
      .timeout(seconds(2))
      .types({ output: 'VARCHAR', state: 'INTEGER' });
    const input = [words('a', 'b'), words('a'), words('a'), [], [], []];
    const build = (s: DStream) => s.map(sql`w, 1 AS n`).mapWithState('w', spec);
    const out = await runCase({ schema: 'w VARCHAR', input, operation: build });
    // b last had data in batch 0: idle through batches 1–2, timed out in batch 2; a (last data batch 2) in batch 4.
    expect(norm(out)).toEqual(norm(rows(['value'], [[], [], ['b timed out at 1'], [], ['a timed out at 3'], []])));
    const snaps = await runCase({ schema: 'w VARCHAR', input, operation: (s) => build(s).stateSnapshots() });
    expect(norm(snaps)).toEqual(
      norm(
        rows(
          ['w', 'state'],
          [
            [
              ['a', 1],
              ['b', 1],
            ],
            [
              ['a', 2],
              ['b', 1],
            ],
            [['a', 3]],
            [['a', 3]],
            [],
            [],
          ],
        ),
      ),
    );
  });

  it('mapWithState - initial state', async () => {
    const out = await runCase({
      schema: 'w VARCHAR',
      input: [words('a'), words('b')],
      operation: (s) =>
        s
          .map(sql`w, 1 AS n`)
          .mapWithState('w', runningSum.initialState([{ key: 'a', state: 10 }]))
          .stateSnapshots(),
    });
    expect(norm(out)).toEqual(
      norm(
        rows(
          ['w', 'state'],
          [
            [['a', 11]],
            [
              ['a', 11],
              ['b', 1],
            ],
          ],
        ),
      ),
    );
  });
});

describe.concurrent('restart in the middle of windowed and stateful pipelines', () => {
  const input = Array.from({ length: 8 }, (_, b) => Array.from({ length: (b * 7) % 5 }, (_, i) => ({ w: ['a', 'b', 'c'][(b + i) % 3]!, v: b + i })));
  const pipelines: Record<string, (s: DStream) => DStream> = {
    window: (s) => s.map(sql`w, v`).window(seconds(3), seconds(2)),
    reduceByKeyAndWindow: (s) => s.reduceByKeyAndWindow('w', sql`sum(v)`, seconds(4), seconds(2)),
    'reduceByKeyAndWindow (inverse, JS)': (s) =>
      s.reduceByKeyAndWindow('w', (a, b) => (a as number) + (b as number), seconds(3), seconds(1), { inverse: (a, b) => (a as number) - (b as number) }),
    updateStateByKey: (s) => s.updateStateByKey('w', sql`coalesce(state, 0) + coalesce(list_sum(vals), 0)`),
    mapWithState: (s) => s.map(sql`w, 1 AS n`).mapWithState('w', runningSum),
  };
  for (const [name, operation] of Object.entries(pipelines)) {
    it(`${name}: stops and crashes give the uninterrupted run's outputs`, async () => {
      const reference = await runCase({ schema: 'w VARCHAR, v INTEGER', input, operation });
      expect(reference.length).toBeGreaterThan(3);
      const restarted = await runCase({ schema: 'w VARCHAR, v INTEGER', input, operation, restartAfter: [2, 5] });
      expect(norm(restarted)).toEqual(norm(reference));
      const crashed = await runCase({
        schema: 'w VARCHAR, v INTEGER',
        input,
        operation,
        crashes: [
          { batch: 3, step: 'stateCommitted' },
          { batch: 5, step: 'read' },
          { batch: 7, step: 'sinksWritten' },
        ],
      });
      expect(norm(crashed)).toEqual(norm(reference));
    });
  }

  it('saveAsParquet after a crash between state commit and sinks holds each batch once', async () => {
    let dir = '';
    const operation = pipelines['updateStateByKey']!;
    const collected = await runCase({
      schema: 'w VARCHAR, v INTEGER',
      input,
      operation,
      crashes: [{ batch: 4, step: 'stateCommitted' }],
      extraOutputs: (out, d) => out.saveAsParquet(`${d}/out/state`),
      keepDir: (d) => (dir = d),
    });
    const engine = await Engine.open();
    try {
      const parquet = await engine.all(`SELECT w, state FROM read_parquet('${dir}/out/state/*.parquet')`);
      expect(norm([parquet])).toEqual(norm([collected.flat()]));
    } finally {
      engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
