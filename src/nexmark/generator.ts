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
import { ascii, ByteWriter } from './byte-writer.js';
import { NexmarkRandom } from './random.js';

const bytesOf = (xs: readonly string[]) => xs.map((x) => ascii(x));
const US_STATES = bytesOf(['AZ', 'CA', 'ID', 'OR', 'WA', 'WY']);
const US_CITIES = bytesOf(['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne']);
const FIRST_NAMES = bytesOf(['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter']);
const LAST_NAMES = bytesOf(['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris']);
const HOT_CHANNELS = bytesOf(['Google', 'Facebook', 'Baidu', 'Apple']);
const CHANNELS = 10_000;
const HOT_CHANNEL_RATIO = 100;
const PAD4 = bytesOf(Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0')));
const MS3 = bytesOf(Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}Z"`));
/** Fixed JSON text, as bytes. */
const T0 = ascii('{"id":');
const T1 = ascii(',"name":"');
const T2 = ascii(' ');
const T3 = ascii('","email_address":"');
const T4 = ascii('@');
const T5 = ascii('.com","credit_card":"');
const T6 = ascii('","city":"');
const T7 = ascii('","state":"');
const T8 = ascii('","date_time":');
const T9 = ascii(',"extra":"');
const T10 = ascii('"}');
const T11 = ascii(',"item_name":"');
const T12 = ascii('","description":"');
const T13 = ascii('","initial_bid":');
const T14 = ascii(',"reserve":');
const T15 = ascii(',"date_time":');
const T16 = ascii(',"expires":"');
const T17 = ascii(',"seller":');
const T18 = ascii(',"category":');
const T19 = ascii('{"auction":');
const T20 = ascii(',"bidder":');
const T21 = ascii(',"price":');
const T22 = ascii(',"channel":"');
const T23 = ascii('","url":"');
const T24 = ascii('channel-');
/** Upper bound of a record's bytes beyond its padding. */
const MAX_FIXED = 512;

/** Generated records: per event kind and partition, the JSON values in event order, in one buffer each. */
export type EventChunk = Record<EventKind, ByteWriter[]>;

/**
 * The Nexmark event stream of the reference generator (nexmark/nexmark, `NexmarkGenerator` and the model
 * generators): event `n` is a person, an auction or a bid by its id's place in each run of 1 + 3 + 46 ids; ids,
 * hot sellers/auctions/bidders, prices, categories, auction lengths, bid channels/urls and the `extra` padding follow
 * the reference; its event time is baseTime + n / rate. Field names are RisingWave's (`date_time`, `email_address`,
 * `item_name`, `initial_bid`, …). Records of each kind are spread round-robin over `partitions`, so every partition
 * moves through event time at the same pace (watermarks stay tight). Randomness is one seeded stream: the same
 * seed, rate and base time give the same records, whatever the chunk sizes.
 */
export class NexmarkGenerator {
  /** Number of the next event to generate. */
  private next = 0;
  private readonly count: Record<EventKind, number> = { person: 0, auction: 0, bid: 0 };
  private readonly rnd: NexmarkRandom;
  private readonly hotUrls: Uint8Array[];
  private readonly channelUrls = new Map<number, Uint8Array>();
  private second = Number.NaN;
  private secondPrefix: Uint8Array = new Uint8Array(0);
  private readonly total: number;

  constructor(
    readonly config: NexmarkConfig,
    readonly partitions: number,
  ) {
    this.rnd = new NexmarkRandom(config.seed);
    this.total = config.personProportion + config.auctionProportion + config.bidProportion;
    this.hotUrls = HOT_CHANNELS.map(() => ascii(this.baseUrl(this.rnd)));
  }

  /** Number of events generated so far. */
  get eventsSoFar(): number {
    return this.next;
  }

  /** Event time (ms) of the next event. */
  get nextEventTime(): number {
    return timestampFor(this.config, this.next);
  }

  /** The next `n` events. */
  generate(n: number): EventChunk {
    const out: EventChunk = { person: [], auction: [], bid: [] };
    for (const k of ['person', 'auction', 'bid'] as const) for (let p = 0; p < this.partitions; p++) out[k].push(new ByteWriter(Math.ceil((n / this.partitions) * 300)));
    const c = this.config;
    for (let end = this.next + n; this.next < end; this.next++) {
      const id = this.next;
      const ts = timestampFor(c, id);
      const rem = id % this.total;
      if (rem < c.personProportion) this.person(out.person[this.count.person++ % this.partitions]!, id, ts);
      else if (rem < c.personProportion + c.auctionProportion) this.auction(out.auction[this.count.auction++ % this.partitions]!, id, ts);
      else this.bid(out.bid[this.count.bid++ % this.partitions]!, id, ts);
    }
    return out;
  }

  private person(w: ByteWriter, id: number, ts: number): void {
    const r = this.rnd;
    w.begin(MAX_FIXED + this.config.avgPersonByteSize * 2);
    w.bytes(T0);
    w.int(lastBase0PersonId(this.config, id) + FIRST_PERSON_ID);
    w.bytes(T1);
    const first = FIRST_NAMES[r.nextInt(FIRST_NAMES.length)]!;
    const last = LAST_NAMES[r.nextInt(LAST_NAMES.length)]!;
    w.bytes(first);
    w.bytes(T2);
    w.bytes(last);
    w.bytes(T3);
    let size = 8 + first.length + 1 + last.length + 5;
    size += r.writeString(w, 7);
    w.bytes(T4);
    size += r.writeString(w, 5);
    w.bytes(T5);
    for (let i = 0; i < 4; i++) {
      if (i > 0) w.bytes(T2);
      w.bytes(PAD4[r.nextInt(10_000)]!);
    }
    const city = US_CITIES[r.nextInt(US_CITIES.length)]!;
    const state = US_STATES[r.nextInt(US_STATES.length)]!;
    w.bytes(T6);
    w.bytes(city);
    w.bytes(T7);
    w.bytes(state);
    w.bytes(T8);
    this.time(w, ts);
    w.bytes(T9);
    r.writeExtra(w, size + 19 + city.length + state.length, this.config.avgPersonByteSize);
    w.bytes(T10);
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
    w.bytes(T0);
    w.int(lastBase0AuctionId(c, id) + FIRST_AUCTION_ID);
    w.bytes(T11);
    const nameLength = r.writeString(w, 20);
    w.bytes(T12);
    const descLength = r.writeString(w, 100);
    w.bytes(T13);
    w.int(initialBid);
    w.bytes(T14);
    w.int(reserve);
    w.bytes(T15);
    this.time(w, ts);
    w.bytes(T16);
    w.bytes(Buffer.from(new Date(expires).toISOString().slice(0, 19), 'latin1'));
    w.bytes(MS3[expires % 1000]!);
    w.bytes(T17);
    w.int(seller);
    w.bytes(T18);
    w.int(category);
    w.bytes(T9);
    r.writeExtra(w, 8 + nameLength + descLength + 40, c.avgAuctionByteSize);
    w.bytes(T10);
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
    const bidder = (r.nextInt(c.hotBiddersRatio) > 0 ? Math.floor(lastBase0PersonId(c, id) / HOT_RATIO) * HOT_RATIO + 1 : this.randomPerson(id)) + FIRST_PERSON_ID;
    w.bytes(T19);
    w.int(auction + FIRST_AUCTION_ID);
    w.bytes(T20);
    w.int(bidder);
    w.bytes(T21);
    w.int(r.nextPrice());
    w.bytes(T22);
    if (r.nextInt(HOT_CHANNEL_RATIO) > 0) {
      const i = r.nextInt(HOT_CHANNELS.length);
      w.bytes(HOT_CHANNELS[i]!);
      w.bytes(T23);
      w.bytes(this.hotUrls[i]!);
    } else {
      const n = r.nextInt(CHANNELS);
      w.bytes(T24);
      w.int(n);
      w.bytes(T23);
      w.bytes(this.channelUrl(n));
    }
    w.bytes(T8);
    this.time(w, ts);
    w.bytes(T9);
    r.writeExtra(w, 32, c.avgBidByteSize);
    w.bytes(T10);
  }

  /** A random person among the active ones, plus a few not created yet (base 0). */
  private randomPerson(id: number): number {
    const people = lastBase0PersonId(this.config, id) + 1;
    const active = Math.min(people, this.config.numActivePeople);
    return people - active + this.rnd.nextLong(active + PERSON_ID_LEAD);
  }

  /** A cold channel's url: fixed per channel number (drawn from its own stream, so it does not shift the main one). */
  private channelUrl(n: number): Uint8Array {
    let url = this.channelUrls.get(n);
    if (url === undefined) {
      url = ascii(`${this.baseUrl(new NexmarkRandom((this.config.seed * 31 + n) | 0, 0, 64))}&channel_id=${n}`);
      this.channelUrls.set(n, url);
    }
    return url;
  }

  private baseUrl(r: NexmarkRandom): string {
    const part = () => {
      const w = new ByteWriter(64);
      w.begin(0);
      r.writeString(w, 5);
      return w.lines()[0]!.replaceAll(' ', '_') || 'x';
    };
    return `https://www.nexmark.com/${part()}/${part()}/${part()}/item.htm?query=1`;
  }

  /** `"<ISO-8601 UTC with ms>"`; the seconds part is cached (event times are monotonic). */
  private time(w: ByteWriter, ms: number): void {
    const s = Math.floor(ms / 1000);
    if (s !== this.second) {
      this.second = s;
      this.secondPrefix = Buffer.from(`"${new Date(s * 1000).toISOString().slice(0, 19)}`, 'latin1');
    }
    w.bytes(this.secondPrefix);
    w.bytes(MS3[ms - s * 1000]!);
  }
}
