import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { registerCodecs } from './codecs.js';

export interface KafkaClientOptions {
  /** Let kafkajs log its errors (the CLI's `--kafka-log`, or DUCKSTREAM_KAFKA_LOG); default silent. */
  readonly log?: boolean;
}

/**
 * A kafkajs client with every codec registered. kafkajs is silent unless `log` is set: duckstream reports what
 * matters itself (errors that name topic/partition, notes on retries), and kafkajs's own lines are for debugging.
 */
export function createKafka(config: KafkaConfig, options: KafkaClientOptions = {}): Kafka {
  registerCodecs();
  return new Kafka({ logLevel: options.log ? logLevel.ERROR : logLevel.NOTHING, ...config });
}

/** kafkajs marks transient failures `retriable`; connection failures and timeouts are retriable for us too. */
export function isRetriableKafkaError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { retriable?: boolean; originalError?: unknown; cause?: unknown };
  if (e.retriable === true) return true;
  if (
    /KafkaJSNumberOfRetriesExceeded|KafkaJSConnectionError|KafkaJSConnectionClosedError|KafkaJSRequestTimeoutError|KafkaJSBrokerNotFound|KafkaJSLockTimeout|KafkaJSGroupCoordinatorNotFound|KafkaJSTimeout|KafkaJSStaleTopicMetadataAssignment/.test(
      e.name,
    )
  ) {
    return (
      e.originalError === undefined ||
      e.name !== 'KafkaJSNumberOfRetriesExceeded' ||
      isRetriableKafkaError(e.originalError) ||
      isConnectionError(e.originalError)
    );
  }
  if (isConnectionError(e)) return true;
  if ((e as { duckstreamRetriable?: boolean }).duckstreamRetriable) return true;
  return false;
}

function isConnectionError(err: unknown): boolean {
  return err instanceof Error && /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection error|Connection timeout|Closed connection/i.test(err.message);
}

/** The message of a kafkajs error with its cause, e.g. "This server does not host this topic-partition (cause: …)". */
export function kafkaErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { type?: string; originalError?: unknown };
  let text = e.type ? `${e.type}: ${e.message}` : `${e.name}: ${e.message}`;
  if (e.originalError instanceof Error && !text.includes(e.originalError.message)) text += ` (cause: ${kafkaErrorText(e.originalError)})`;
  return text;
}

/** A broker's protocol error that kafkajs marks not retriable (TOPIC_AUTHORIZATION_FAILED, UNSUPPORTED_VERSION, …). */
export function isPermanentBrokerError(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    const x = e as Error & { retriable?: boolean; originalError?: unknown };
    if (x.name === 'KafkaJSProtocolError') return x.retriable === false;
    e = x.originalError ?? x.cause;
  }
  return false;
}
