/** Landing for brokers that cannot replay: see lander.ts for the API and docs/connectors/landing.md for the guarantees. */
export { Lander, DEDUPE_HEADER, type LandingMessage, type LandOutcome, type LanderOptions, type LanderStats } from './lander.js';
export { LandingSource, LandingRawSource, type BrokerFeed, type LandingSourceOptions } from './landing-source.js';
export { runIngest } from './ingest.js';
