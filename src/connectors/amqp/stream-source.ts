import { DecodingSource, type DecodingOptions } from '../../format/decoding-source.js';
import { HEADERS_TRAILING_COLUMN } from '../headers-column.js';
import type { AmqpStreamRawSource } from './stream-raw-source.js';

/** RabbitMQ stream queues as the driver sees them: raw messages decoded by the format layer, headers as `_headers JSON`. */
export class AmqpStreamSource extends DecodingSource<AmqpStreamRawSource> {
  constructor(name: string, raw: AmqpStreamRawSource, options: Omit<DecodingOptions, 'trailingColumn'>) {
    super(name, raw, { ...options, trailingColumn: HEADERS_TRAILING_COLUMN });
  }
}
