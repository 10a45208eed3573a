import { natsFaults } from './fault-scenarios.js';

// Short: two cuts between batches and one inside a read; one SIGKILL. The long loops are test/faults/nats.faults.ts.
natsFaults('nats faults (short): cut connections and SIGKILL', {
  cut: { messages: 900, cap: 300, everyMs: 0 },
  kill: { rows: 600, cap: 100, rounds: 1 },
});
