import {
  AUCTION_ID_LEAD,
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_PERSON_ID,
  HOT_RATIO,
  NUM_CATEGORIES,
  PERSON_ID_LEAD,
  lastBase0AuctionId,
  lastBase0PersonId,
  timestampFor,
  type EventKind,
  type NexmarkConfig,
} from './config.js';
import { ByteWriter, literal, type Literal } from './byte-writer.js';
import { NexmarkRandom } from './random.js';

const literals = (xs: readonly string[]) => xs.map((x) => literal(x));
const US_STATES = literals(['AZ', 'CA', 'ID', 'OR', 'WA', 'WY']);
const US_CITIES = literals(['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne']);
const FIRST_NAMES = literals(['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter']);
const LAST_NAMES = literals(['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris']);
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const CHANNELS = 10_000;
const HOT_CHANNEL_RATIO = 100;
const pad3 = (i: number) => String(i).padStart(3, '0');
/** The milliseconds of a time and what follows them: `.123Z"` alone, or with the `extra` field's start. */
const MS = literals(Array.from({ length: 1000 }, (_, i) => `.${pad3(i)}Z"`));
const MS_EXTRA = literals(Array.from({ length: 1000 }, (_, i) => `.${pad3(i)}Z","extra":"`));
/** Fixed JSON text, merged into as few pieces as the fields allow. */
const PERSON_ID = literal('{"id":');
const PERSON_NAME = literal(',"name":"');
const PERSON_EMAIL = literal('","email_address":"');
const PERSON_CARD = literal('.com","credit_card":"');
const PERSON_CITY = literal('","city":"');
const PERSON_STATE = literal('","state":"');
const DATE_TIME = literal('","date_time":');
const AUCTION_ID = literal('{"id":');
const AUCTION_NAME = literal(',"item_name":"');
const AUCTION_DESCRIPTION = literal('","description":"');
const AUCTION_INITIAL = literal('","initial_bid":');
const AUCTION_RESERVE = literal(',"reserve":');
const AUCTION_DATE_TIME = literal(',"date_time":');
const AUCTION_EXPIRES = literal(',"expires":"');
const AUCTION_SELLER = literal(',"seller":');
const AUCTION_CATEGORY = literal(',"category":');
const AUCTION_EXTRA = literal(',"extra":"');
const BID_AUCTION = literal('{"auction":');
const BID_BIDDER = literal(',"bidder":');
const BID_PRICE = literal(',"price":');
const BID_COLD_CHANNEL = literal(',"channel":"channel-');
const END = literal('"}');
const SPACE = 32;
const AT = 64;
/** Upper bound of a record's bytes beyond its padding. */
const MAX_FIXED = 512;

/** Generated records: per event kind and partition, the JSON values in event order, in one buffer each. */
export type EventChunk = Record<EventKind, ByteWriter[]>;

/** Where `generateInto` writes: per kind and partition; no writer means that partition's events are skipped. */
export type EventWriters = Record<EventKind, readonly (ByteWriter | undefined)[]>;

/**
 * The Nexmark event stream of the reference generator (nexmark/nexmark, `NexmarkGenerator` and the model
 * generators): event `n` is a person, an auction or a bid by its id's place in each run of 1 + 3 + 46 ids; ids,
 * hot sellers/auctions/bidders, prices, categories, auction lengths, bid channels/urls and the `extra` padding follow
 * the reference; its event time is baseTime + n / rate. Field names are RisingWave's (`date_time`, `email_address`,
 * `item_name`, `initial_bid`, …). Records of each kind are spread round-robin over `partitions`, so every partition
 * moves through event time at the same pace (watermarks stay tight). Each event draws from its own seeded stream
 * (random.ts): the same seed, rate and base time give the same records, whatever the chunk sizes, and a generator
 * can produce only some partitions (the others' events are skipped, not drawn), which is how worker threads split
 * the work.
 */
export class NexmarkGenerator {
  /** Number of the next event to generate. */
  private next = 0;
  private readonly count: Record<EventKind, number> = { person: 0, auction: 0, bid: 0 };
  private readonly rnd: NexmarkRandom;
  /** Per hot channel: `,"channel":"<name>","url":"<url>","date_time":`. */
  private readonly hotBlocks: Literal[];
  /** Per cold channel number, once seen: `","url":"<url>","date_time":`. */
  private readonly coldBlocks = new Map<number, Literal>();
  private second = Number.NaN;
  private secondPrefix: Literal = literal('');
  private readonly expiresPrefixes = new Map<number, Literal>();
  private readonly total: number;

  constructor(
    readonly config: NexmarkConfig,
    readonly partitions: number,
  ) {
    this.rnd = new NexmarkRandom(config.seed);
    this.total = config.personProportion + config.auctionProportion + config.bidProportion;
    // Drawn from the seed's stream before any event's: fixed per seed.
    this.hotBlocks = HOT_CHANNELS.map((name) => literal(`,"channel":"${name}","url":"${baseUrl(this.rnd)}","date_time":`));
  }

  /** Number of events generated so far. */
  get eventsSoFar(): number {
    return this.next;
  }

  /** Event time (ms) of the next event. */
  get nextEventTime(): number {
    return timestampFor(this.config, this.next);
  }

  /** A writer per kind and partition, sized for `events` events, carrying this generator's text pools. */
  writers(events: number, framed = false, owns: (partition: number) => boolean = () => true): EventChunk {
    const out: EventChunk = { person: [], auction: [], bid: [] };
    const c = this.config;
    const avg = { person: c.avgPersonByteSize, auction: c.avgAuctionByteSize, bid: c.avgBidByteSize };
    const share = { person: c.personProportion, auction: c.auctionProportion, bid: c.bidProportion };
    for (const k of ['person', 'auction', 'bid'] as const) {
      const bytes = Math.ceil(((events * share[k]) / this.total / this.partitions) * (avg[k] * 1.3 + 200)) + 4096; // measured: bids ~243 bytes, auctions ~648, persons ~320, +36 framed
      for (let p = 0; p < this.partitions; p++) out[k].push(owns(p) ? new ByteWriter(bytes, this.rnd, framed) : EMPTY_WRITER);
    }
    return out;
  }

  /** The next `n` events. */
  generate(n: number): EventChunk {
    const out = this.writers(n);
    this.generateInto(n, out);
    return out;
  }

  /**
   * Write the next `n` events into `out` (writers from `writers()`, or any with this generator's pools); events
   * of partitions without a writer, or with EMPTY_WRITER, are skipped.
   */
  generateInto(n: number, out: EventWriters): void {
    const c = this.config;
    const parts = this.partitions;
    const persons = c.personProportion;
    const personsAuctions = persons + c.auctionProportion;
    for (let end = this.next + n; this.next < end; this.next++) {
      const id = this.next;
      const rem = id % this.total;
      const w =
        rem < persons
          ? out.person[this.count.person++ % parts]
          : rem < personsAuctions
            ? out.auction[this.count.auction++ % parts]
            : out.bid[this.count.bid++ % parts];
      if (w === undefined || w === EMPTY_WRITER) continue;
      this.rnd.startEvent(id);
      const ts = timestampFor(c, id);
      if (rem < persons) this.person(w, id, ts);
      else if (rem < personsAuctions) this.auction(w, id, ts);
      else this.bid(w, id, ts);
    }
  }

  private person(w: ByteWriter, id: number, ts: number): void {
    const r = this.rnd;
    w.begin(MAX_FIXED + this.config.avgPersonByteSize * 2);
    w.lit(PERSON_ID);
    w.int(lastBase0PersonId(this.config, id) + FIRST_PERSON_ID);
    w.lit(PERSON_NAME);
    const first = FIRST_NAMES[r.nextInt(FIRST_NAMES.length)]!;
    const last = LAST_NAMES[r.nextInt(LAST_NAMES.length)]!;
    w.lit(first);
    w.byte(SPACE);
    w.lit(last);
    w.lit(PERSON_EMAIL);
    let size = 8 + first.bytes.length + 1 + last.bytes.length + 5;
    size += r.writeString(w, 7);
    w.byte(AT);
    size += r.writeString(w, 5);
    w.lit(PERSON_CARD);
    for (let i = 0; i < 4; i++) {
      if (i > 0) w.byte(SPACE);
      w.pad4(r.nextInt(10_000));
    }
    const city = US_CITIES[r.nextInt(US_CITIES.length)]!;
    const state = US_STATES[r.nextInt(US_STATES.length)]!;
    w.lit(PERSON_CITY);
    w.lit(city);
    w.lit(PERSON_STATE);
    w.lit(state);
    w.lit(DATE_TIME);
    this.time(w, ts, MS_EXTRA);
    r.writeExtra(w, size + 19 + city.bytes.length + state.bytes.length, this.config.avgPersonByteSize);
    w.lit(END);
    w.end();
  }

  private auction(w: ByteWriter, id: number, ts: number): void {
    const r = this.rnd;
    const c = this.config;
    w.begin(MAX_FIXED + c.avgAuctionByteSize * 2);
    const seller = (r.nextInt(c.hotSellersRatio) > 0 ? Math.floor(lastBase0PersonId(c, id) / HOT_RATIO) * HOT_RATIO : this.randomPerson(id)) + FIRST_PERSON_ID;
    const category = FIRST_CATEGORY_ID + r.nextInt(NUM_CATEGORIES);
    const initialBid = r.nextPrice();
    // Auction length: on average the time until numInFlightAuctions more auctions have been created.
    const horizon = timestampFor(c, id + Math.floor((c.numInFlightAuctions * this.total) / c.auctionProportion)) - ts;
    const expires = ts + 1 + r.nextLong(Math.max(horizon * 2, 1));
    const reserve = initialBid + r.nextPrice();
    w.lit(AUCTION_ID);
    w.int(lastBase0AuctionId(c, id) + FIRST_AUCTION_ID);
    w.lit(AUCTION_NAME);
    const nameLength = r.writeString(w, 20);
    w.lit(AUCTION_DESCRIPTION);
    const descLength = r.writeString(w, 100);
    w.lit(AUCTION_INITIAL);
    w.int(initialBid);
    w.lit(AUCTION_RESERVE);
    w.int(reserve);
    w.lit(AUCTION_DATE_TIME);
    this.time(w, ts, MS);
    w.lit(AUCTION_EXPIRES);
    const expiresSecond = Math.floor(expires / 1000);
    w.lit(this.expiresPrefix(expiresSecond));
    w.lit(MS[expires - expiresSecond * 1000]!);
    w.lit(AUCTION_SELLER);
    w.int(seller);
    w.lit(AUCTION_CATEGORY);
    w.int(category);
    w.lit(AUCTION_EXTRA);
    r.writeExtra(w, 8 + nameLength + descLength + 40, c.avgAuctionByteSize);
    w.lit(END);
    w.end();
  }

  private bid(w: ByteWriter, id: number, ts: number): void {
    const r = this.rnd;
    const c = this.config;
    w.begin(MAX_FIXED + c.avgBidByteSize * 2);
    let auction: number;
    if (r.nextInt(c.hotAuctionRatio) > 0) auction = Math.floor(lastBase0AuctionId(c, id) / HOT_RATIO) * HOT_RATIO;
    else {
      const last = lastBase0AuctionId(c, id);
      const min = Math.max(last - c.numInFlightAuctions, 0);
      auction = min + r.nextLong(last - min + 1 + AUCTION_ID_LEAD);
    }
    // Hot bidders are the second person of a batch, so they do not collide with hot sellers.
    const bidder =
      (r.nextInt(c.hotBiddersRatio) > 0 ? Math.floor(lastBase0PersonId(c, id) / HOT_RATIO) * HOT_RATIO + 1 : this.randomPerson(id)) + FIRST_PERSON_ID;
    w.lit(BID_AUCTION);
    w.int(auction + FIRST_AUCTION_ID);
    w.lit(BID_BIDDER);
    w.int(bidder);
    w.lit(BID_PRICE);
    w.int(r.nextPrice());
    if (r.nextInt(HOT_CHANNEL_RATIO) > 0) {
      w.lit(this.hotBlocks[r.nextInt(HOT_CHANNELS.length)]!);
    } else {
      const n = r.nextInt(CHANNELS);
      w.lit(BID_COLD_CHANNEL);
      w.int(n);
      w.lit(this.coldBlock(n));
    }
    this.time(w, ts, MS_EXTRA);
    r.writeExtra(w, 32, c.avgBidByteSize);
    w.lit(END);
    w.end();
  }

  /** A random person among the active ones, plus a few not created yet (base 0). */
  private randomPerson(id: number): number {
    const people = lastBase0PersonId(this.config, id) + 1;
    const active = Math.min(people, this.config.numActivePeople);
    return people - active + this.rnd.nextLong(active + PERSON_ID_LEAD);
  }

  /** A cold channel's url: fixed per channel number (drawn from its own stream, so it does not depend on the event). */
  private coldBlock(n: number): Literal {
    let block = this.coldBlocks.get(n);
    if (block === undefined) {
      const url = `${baseUrl(new NexmarkRandom((this.config.seed * 31 + n) | 0, 0, 64))}&channel_id=${n}`;
      block = literal(`","url":"${url}","date_time":`);
      this.coldBlocks.set(n, block);
    }
    return block;
  }

  /** `"<ISO-8601 UTC with ms>"` then `ms[milliseconds]`; the seconds part is cached (event times are monotonic). */
  private time(w: ByteWriter, ms: number, suffix: readonly Literal[]): void {
    const s = Math.floor(ms / 1000);
    if (s !== this.second) {
      this.second = s;
      this.secondPrefix = literal(`"${isoSecond(s)}`);
    }
    w.lit(this.secondPrefix);
    w.lit(suffix[ms - s * 1000]!);
  }

  /** `YYYY-MM-DDTHH:MM:SS` of an expiry second, cached (expiries cluster a little ahead of event time). */
  private expiresPrefix(s: number): Literal {
    let prefix = this.expiresPrefixes.get(s);
    if (prefix === undefined) {
      if (this.expiresPrefixes.size >= 4096) this.expiresPrefixes.clear();
      prefix = literal(isoSecond(s));
      this.expiresPrefixes.set(s, prefix);
    }
    return prefix;
  }
}

/** The writer `writers()` puts where a partition is not owned: events for it are skipped. */
const EMPTY_WRITER = new ByteWriter(0);

function isoSecond(s: number): string {
  return new Date(s * 1000).toISOString().slice(0, 19);
}

function baseUrl(r: NexmarkRandom): string {
  const part = () => r.nextString(5).replaceAll(' ', '_') || 'x';
  return `https://www.nexmark.com/${part()}/${part()}/${part()}/item.htm?query=1`;
}
