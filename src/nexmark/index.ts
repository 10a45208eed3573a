/** The Nexmark benchmark's event generator (persons, auctions, bids), after the reference nexmark/nexmark. */
export { nexmarkConfig, kindOf, timestampFor, DEFAULT_BASE_TIME, type NexmarkConfig, type EventKind } from './config.js';
export { NexmarkGenerator, type EventChunk } from './generator.js';
export { writeNexmarkLogs, EVENT_KINDS, type WriteNexmarkOptions, type WriteNexmarkResult } from './write-log.js';
export { writeNexmarkKafka, parseKafkaTarget, type KafkaTarget, type WriteNexmarkKafkaOptions } from './write-kafka.js';
