import type { NatsConnection } from '@nats-io/transport-node';
import { DecodingSource, type DecodingOptions } from '../../format/decoding-source.js';
import { textTrailingColumn } from '../../format/text-trailing-column.js';
import { HEADERS_COLUMN, SUBJECT_COLUMN } from '../../source/metadata-columns.js';
import { NatsRawSource, type NatsRawSourceConfig } from './nats-raw-source.js';

export type NatsSourceConfig = NatsRawSourceConfig & Omit<DecodingOptions, 'trailingColumn' | 'trailingColumns'>;

const utf8 = new TextDecoder();

/** `_subject VARCHAR`: the message's subject (the raw record's key; `_key` holds it too). */
const SUBJECT_TRAILING = textTrailingColumn({ name: SUBJECT_COLUMN, type: 'VARCHAR', required: false }, (raw, i) => {
  const key = raw.keys[i];
  return key ? utf8.decode(key) : null;
});

/**
 * `_headers JSON`: the message's headers as a JSON object, name → value (a name given several times → an array of
 * its values in order); NULL when it has none. Query it as `_headers->>'Nats-Msg-Id'`.
 */
const HEADERS_TRAILING = textTrailingColumn({ name: HEADERS_COLUMN, type: 'JSON', required: false }, (raw, i) => {
  const pairs = raw.headers[i];
  if (!pairs || pairs.length === 0) return null;
  const obj: Record<string, string | string[]> = {};
  for (const [name, bytes] of pairs) {
    const text = utf8.decode(bytes);
    const seen = obj[name];
    if (seen === undefined) obj[name] = text;
    else if (Array.isArray(seen)) seen.push(text);
    else obj[name] = [seen, text];
  }
  return JSON.stringify(obj);
});

/**
 * A JetStream stream as the driver sees it: its messages as raw records (NatsRawSource) decoded by the format layer,
 * then `_subject` and `_headers` appended as trailing metadata columns. `_topic` is the stream, `_offset` the stream
 * sequence, `_timestamp` the time the server stored the message, `_key` its subject.
 */
export class NatsSource extends DecodingSource<NatsRawSource> {
  constructor(name: string, nc: NatsConnection, config: NatsSourceConfig) {
    super(name, new NatsRawSource(name, nc, config), { ...config, trailingColumns: [SUBJECT_TRAILING, HEADERS_TRAILING] });
  }
}
