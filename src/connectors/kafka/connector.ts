import type { Connector } from '../connector.js';
import { kafkaSourceFactory } from './factory.js';
import { kafkaSinkFactory } from './kafka-sink-options.js';

/**
 * `connector = 'kafka'`: Kafka topics read as exact offset ranges (the checkpoint, not the consumer group, is the
 * truth; group commits are advisory), with the next batch fetched ahead by default; and a sink writing each batch
 * in a Kafka transaction (exactly once, with `transactional_id`) or at least once with the batch id in a header.
 */
export const kafkaConnector: Connector = {
  name: 'kafka',
  source: kafkaSourceFactory,
  sink: kafkaSinkFactory,
};
