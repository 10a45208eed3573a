import { describe, expect, it } from 'vitest';
import { createSource } from '../../src/connectors/registry.js';

const def = (options: Record<string, string>) => ({ name: 'ev', options: { connector: 'mqtt', ...options }, columns: undefined, line: 1 });

describe("connector = 'mqtt' options", () => {
  it('are checked before anything connects, with the fix in the message', async () => {
    await expect(createSource(def({ topic: 't' }))).rejects.toThrow(/source 'ev': connector 'mqtt' needs url = 'mqtt:\/\/127.0.0.1:1883'/);
    await expect(createSource(def({ url: 'mqtt://127.0.0.1:1883' }))).rejects.toThrow(/needs topic = 'sensors\/#'/);
    await expect(createSource(def({ url: 'http://x', topic: 't' }))).rejects.toThrow(/url = 'http:\/\/x' must start with mqtt:\/\//);
    await expect(createSource(def({ url: 'mqtt://127.0.0.1:1883', topic: 't', qos: '3' }))).rejects.toThrow(/qos = '3'/);
    await expect(createSource(def({ url: 'mqtt://127.0.0.1:1883', topic: 't', qoss: '1' }))).rejects.toThrow(/does not take 'qoss'.*did you mean 'qos'/);
    // the common source options are taken (issue 15: every source keeps them)
    await expect(
      createSource(def({ url: 'mqtt://127.0.0.1:1883', topic: 't', idle_timeout: '1s', late_data_path: '/x', dead_letter_path: '/y', bogus: '1' })),
    ).rejects.toThrow(/does not take 'bogus'/);
  });

  it('needs a landing_path when there is no checkpoint to land under', async () => {
    await expect(createSource(def({ url: 'mqtt://127.0.0.1:1883', topic: 't' }))).rejects.toThrow(/needs a landing_path here/);
  });

  it('fails with the fix when the broker cannot be reached', async () => {
    await expect(
      createSource(
        def({
          url: 'mqtt://127.0.0.1:1',
          topic: 't',
          landing_path: `/tmp/ds-mqtt-unreachable-${process.pid}`,
          connect_timeout_ms: '1500',
          reconnect_ms: '100000',
        }),
      ),
    ).rejects.toThrow(/source 'ev'.*(cannot reach|refused).*127.0.0.1:1/s);
  });
});
