/**
 * Benchmark dispatcher: `npm run bench -- <name> [args…]` runs bench/<name>.ts (built to dist/bench/<name>.js).
 *   npm run build && npm run bench -- nexmark --queries q0,q5 --events 1000000
 */
const BENCHMARKS = [
  'nexmark',
  'nexmark-gen',
  'latency',
  'batch-overhead',
  'kafka',
  'e2e-log',
  'decode',
  'log-read',
  'arrow-ingest',
  'nats',
  'postgres',
  'mqtt-landing',
  'amqp-stream',
] as const;

const [name, ...rest] = process.argv.slice(2);
if (!name || !(BENCHMARKS as readonly string[]).includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${BENCHMARKS.join('|')}> [args…]\n`);
  process.exit(2);
}
// Each benchmark reads its own arguments from process.argv[2…], as when run directly.
process.argv = [process.argv[0]!, `dist/bench/${name}.js`, ...rest];
await import(`./${name}.js`);
