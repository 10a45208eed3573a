import { natsFaults } from '../nats/fault-scenarios.js';

// Long: cuts every 700 ms through a run of 30 batches; five SIGKILLs of a job publishing to NATS.
natsFaults('nats faults (long): cut connections and SIGKILL', {
  cut: { messages: 18_000, cap: 600, everyMs: 700 },
  kill: { rows: 8000, cap: 200, rounds: 5 },
});
