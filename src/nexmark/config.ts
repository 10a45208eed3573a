/**
 * Nexmark generator parameters, with the defaults of the reference generator (nexmark/nexmark,
 * `NexmarkConfiguration.java` and `GeneratorConfig.java`).
 */
export interface NexmarkConfig {
  /** Events per second of event time: consecutive events are 1e6 / rate µs apart (reference `firstEventRate`). */
  readonly rate: number;
  /** Event time of event 0, ms since the epoch. */
  readonly baseTime: number;
  readonly seed: number;
  readonly personProportion: number;
  readonly auctionProportion: number;
  readonly bidProportion: number;
  /** Average idealized record sizes the `extra` padding field fills up to. */
  readonly avgPersonByteSize: number;
  readonly avgAuctionByteSize: number;
  readonly avgBidByteSize: number;
  /** P(bid for a hot auction) = 1 − 1/hotAuctionRatio, and the same for sellers and bidders. */
  readonly hotAuctionRatio: number;
  readonly hotSellersRatio: number;
  readonly hotBiddersRatio: number;
  readonly numInFlightAuctions: number;
  readonly numActivePeople: number;
}

export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;
/** Yet-to-be-created ids a random person/auction id may point at. */
export const PERSON_ID_LEAD = 10;
export const AUCTION_ID_LEAD = 10;
/** Hot ids are the first (second, for bidders) of each batch of this many. */
export const HOT_RATIO = 100;

/** 2026-01-01T00:00:00Z: a fixed default, so the same seed gives the same bytes on every run. */
export const DEFAULT_BASE_TIME = Date.UTC(2026, 0, 1);

export function nexmarkConfig(overrides: Partial<NexmarkConfig> = {}): NexmarkConfig {
  return Object.freeze({
    rate: 10_000,
    baseTime: DEFAULT_BASE_TIME,
    seed: 1,
    personProportion: 1,
    auctionProportion: 3,
    bidProportion: 46,
    avgPersonByteSize: 200,
    avgAuctionByteSize: 500,
    avgBidByteSize: 100,
    hotAuctionRatio: 2,
    hotSellersRatio: 4,
    hotBiddersRatio: 4,
    numInFlightAuctions: 100,
    numActivePeople: 1000,
    ...overrides,
  });
}

export type EventKind = 'person' | 'auction' | 'bid';

/** Which kind event `id` is: by its place in each run of person + auction + bid proportion ids (1:3:46). */
export function kindOf(c: NexmarkConfig, id: number): EventKind {
  const rem = id % (c.personProportion + c.auctionProportion + c.bidProportion);
  return rem < c.personProportion ? 'person' : rem < c.personProportion + c.auctionProportion ? 'auction' : 'bid';
}

/** Event time of event number `n`: baseTime + ⌊n × interEventDelayUs⌋ / 1000 (ms), as the reference does. */
export function timestampFor(c: NexmarkConfig, n: number): number {
  return c.baseTime + Math.floor(Math.floor((n * 1_000_000) / c.rate) / 1000);
}

/** The newest person id (base 0) at event `id`: this event's, if it is a person. */
export function lastBase0PersonId(c: NexmarkConfig, id: number): number {
  const total = c.personProportion + c.auctionProportion + c.bidProportion;
  const epoch = Math.floor(id / total);
  let offset = id % total;
  if (offset >= c.personProportion) offset = c.personProportion - 1;
  return epoch * c.personProportion + offset;
}

/** The newest auction id (base 0) at event `id`: this event's, if it is an auction. */
export function lastBase0AuctionId(c: NexmarkConfig, id: number): number {
  const total = c.personProportion + c.auctionProportion + c.bidProportion;
  let epoch = Math.floor(id / total);
  let offset = id % total;
  if (offset < c.personProportion) {
    epoch--;
    offset = c.auctionProportion - 1;
  } else if (offset >= c.personProportion + c.auctionProportion) {
    offset = c.auctionProportion - 1;
  } else {
    offset -= c.personProportion;
  }
  return epoch * c.auctionProportion + offset;
}
