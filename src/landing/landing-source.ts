import { DecodingSource, type DecodingOptions } from '../format/decoding-source.js';
import { LogRawSource } from '../log/log-raw-source.js';
import type { PartitionKey, OffsetRange } from '../plan/offset-range.js';
import type { RawRead, RawSource } from '../source/raw-source.js';
import { Lander, type LanderOptions } from './lander.js';

/**
 * A broker client that lands its messages (MQTT, AMQP classic/quorum queues): it hands every message to
 * `lander.land()` and acknowledges it to the broker only once that resolved.
 */
export interface BrokerFeed {
  /**
   * Connect, subscribe and start landing. Resolves once consuming has started; rejects (a DuckstreamError that says
   * how to fix it) when the broker cannot be reached or refuses the subscription. Later failures (a land() that
   * rejected, a broker that refused the session) go to `onError`: the feed stops acking and the source fails.
   */
  start(lander: Lander, onError: (err: Error) => void): Promise<void>;
  /** Stop consuming and disconnect; messages not acknowledged stay with the broker (redelivered next time). */
  stop(): Promise<void>;
}

/** Landing inside a job: where, who feeds it, and how the landed records are decoded. */
export interface LandingSourceOptions extends Omit<DecodingOptions, 'trailingColumn'> {
  /** The landing log's directory (created with one partition when missing). */
  readonly landingDir: string;
  readonly feed: BrokerFeed;
  readonly lander: LanderOptions;
}

/**
 * The landing log as a job's source, with its lander running: started when the source opens, stopped when it
 * closes. Reads are the log's (exact, replayable); the broker only ever sees acks for durable records.
 */
export class LandingSource extends DecodingSource<LandingRawSource> {
  static async open(name: string, options: LandingSourceOptions): Promise<LandingSource> {
    const lander = await Lander.open(options.landingDir, options.lander);
    let raw: LandingRawSource;
    try {
      raw = new LandingRawSource(lander, options.feed, await LogRawSource.open(options.landingDir, 'earliest'));
      await raw.start();
    } catch (err) {
      await options.feed.stop().catch(() => undefined);
      await lander.close();
      throw err;
    }
    return new LandingSource(name, raw, options);
  }

  /** The lander's counts (landed, duplicates dropped, appends). */
  get landing(): Lander['stats'] {
    return this.raw.lander.stats;
  }
}

/** The landing log's raw records, with the feed that fills it running alongside. */
export class LandingRawSource implements RawSource {
  readonly startingPosition = 'earliest' as const;
  private failure: Error | undefined;

  constructor(
    readonly lander: Lander,
    private readonly feed: BrokerFeed,
    private readonly log: LogRawSource,
  ) {}

  async start(): Promise<void> {
    await this.feed.start(this.lander, (err) => (this.failure ??= err));
  }

  async latestOffsets(): Promise<Map<PartitionKey, bigint>> {
    if (this.failure) throw this.failure;
    return this.log.latestOffsets();
  }

  earliestOffsets(): Promise<Map<PartitionKey, bigint>> {
    return this.log.earliestOffsets();
  }

  readRaw(ranges: readonly OffsetRange[]): Promise<RawRead> {
    return this.log.readRaw(ranges);
  }

  async close(): Promise<void> {
    try {
      await this.feed.stop();
    } finally {
      await this.lander.close();
      await this.log.close();
    }
  }
}
