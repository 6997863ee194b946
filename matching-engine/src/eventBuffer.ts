import type { EngineCode } from "./codes.ts";

/** Record kinds in an EventBuffer (same events as EngineEvent's `type`). */
export const EventKind = { accepted: 0, rejected: 1, trade: 2, cancelled: 3, amended: 4, triggered: 5, l2: 6 } as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** `orderType` of an accepted record. */
export const OrderTypeCode = { limit: 0, market: 1, stop: 2 } as const;

/**
 * Numeric event output for the engine core entry points (`placeLimit`,
 * `placeMarket`, `cancelHandle` take it where they take a sink): the engine
 * clears it at the start of the call and appends one record per event, in
 * event order; the caller reads records 0..count-1 after the call. No
 * object, string or closure per event. Orders are named by their public
 * handle (slot + generation) at the time of the event, so a maker's record
 * carries the handle `placeLimit` returned for it; the taker's handle is that
 * of the order being placed (returned too if it rests). Client ids and owner
 * names are not in the buffer: the caller maps handles to its own records.
 *
 * | kind | order | taker | side | price | qty | left | takerLeft | reason | flag |
 * |---|---|---|---|---|---|---|---|---|---|
 * | accepted | order | | side | limit price (0 market) | ordered qty | | | | OrderTypeCode |
 * | rejected | | | | | | | | reason | |
 * | trade | maker | taker | aggressor side | price | qty | makerLeft | takerLeft | | |
 * | cancelled | order | | | | qty removed | left | | reason | |
 * | amended | order | | | price | qty | | | | 1 = priority kept |
 * | triggered | order | | | stopPrice | lastPrice | | | | |
 * | l2 | | | side | price | new displayed qty | | | | |
 *
 * Every record has `seq` (the book's sequence number, as in EngineEvent; 0
 * for a rejection without a book) and `book` (book index, -1 if none). A
 * column not listed for a kind holds a stale value: only the listed ones are
 * written (fewer stores per event).
 * Side: 0 buy, 1 sell. Capacity doubles when a call produces more events.
 */
export class EventBuffer {
  count = 0;
  cap: number;
  kind: Uint8Array;
  book: Int32Array;
  seq: Float64Array;
  order: Int32Array;
  taker: Int32Array;
  side: Uint8Array;
  flag: Uint8Array;
  price: Float64Array;
  qty: Float64Array;
  left: Float64Array;
  takerLeft: Float64Array;
  reason: EngineCode[];

  constructor(cap = 64) {
    this.cap = cap;
    this.kind = new Uint8Array(cap);
    this.book = new Int32Array(cap);
    this.seq = new Float64Array(cap);
    this.order = new Int32Array(cap);
    this.taker = new Int32Array(cap);
    this.side = new Uint8Array(cap);
    this.flag = new Uint8Array(cap);
    this.price = new Float64Array(cap);
    this.qty = new Float64Array(cap);
    this.left = new Float64Array(cap);
    this.takerLeft = new Float64Array(cap);
    this.reason = new Array<EngineCode>(cap).fill("ENGINE_OK");
  }

  /** Appends a record of `kind`; returns its index (the caller fills the kind's own columns). */
  push(kind: number, book: number, seq: number): number {
    const i = this.count === this.cap ? this.grow() : this.count;
    this.count = i + 1;
    this.kind[i] = kind;
    this.book[i] = book;
    this.seq[i] = seq;
    return i;
  }

  /** Trade record (the hot one, in one call). */
  trade(book: number, seq: number, maker: number, taker: number, side: number, price: number, qty: number, makerLeft: number, takerLeft: number): void {
    const i = this.count === this.cap ? this.grow() : this.count;
    this.count = i + 1;
    this.kind[i] = EventKind.trade;
    this.book[i] = book;
    this.seq[i] = seq;
    this.order[i] = maker;
    this.taker[i] = taker;
    this.side[i] = side;
    this.price[i] = price;
    this.qty[i] = qty;
    this.left[i] = makerLeft;
    this.takerLeft[i] = takerLeft;
  }

  /** Doubles the arrays; returns the index of the next record. */
  private grow(): number {
    const cap = this.cap * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    this.kind = u8(this.kind);
    this.book = i32(this.book);
    this.seq = f64(this.seq);
    this.order = i32(this.order);
    this.taker = i32(this.taker);
    this.side = u8(this.side);
    this.flag = u8(this.flag);
    this.price = f64(this.price);
    this.qty = f64(this.qty);
    this.left = f64(this.left);
    this.takerLeft = f64(this.takerLeft);
    for (let i = this.cap; i < cap; i++) this.reason.push("ENGINE_OK");
    this.cap = cap;
    return this.count;
  }
}
