import type { Kafka } from 'kafkajs';
import { DecodingSource, type DecodingOptions } from '../../format/decoding-source.js';
import { HEADERS_TRAILING_COLUMN } from '../headers-column.js';
import { KafkaRawSource, type KafkaRawSourceConfig } from './kafka-raw-source.js';
import type { KafkaOffsets } from './offsets.js';

export type KafkaSourceConfig = KafkaRawSourceConfig & Omit<DecodingOptions, 'trailingColumn'>;

/**
 * A Kafka source as the driver sees it: Kafka's raw records (KafkaRawSource) decoded by the format layer, with the
 * records' headers as the trailing metadata column `_headers JSON`.
 */
export class KafkaSource extends DecodingSource<KafkaRawSource> {
  constructor(name: string, kafka: Kafka, offsets: KafkaOffsets, config: KafkaSourceConfig) {
    super(name, new KafkaRawSource(name, kafka, offsets, config), { ...config, trailingColumn: HEADERS_TRAILING_COLUMN });
  }

  /** Batches fetched ahead, and how many of them a read took or discarded (tests and benchmarks look). */
  get prefetchCounts(): { readonly started: number; readonly used: number; readonly discarded: number } {
    return this.raw.prefetchCounts;
  }
}
