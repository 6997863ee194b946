import { createHash } from "node:crypto";
import { Book, SIDE_NAMES } from "./book.ts";
import type { EngineContext } from "./book.ts";
import { EngineCode, MAX_VALUE } from "./codes.ts";
import type { Command, StpMode } from "./command.ts";
import { EventBuffer, EventKind } from "./eventBuffer.ts";
import type { EventSink, RejectedEvent } from "./events.ts";
import { BUY, LevelPool, NO_HANDLE, OrderFlag, OrderPool, SELL, STP_NAMES, StpCode } from "./orderPool.ts";
import { SNAPSHOT_VERSION } from "./snapshot.ts";
import type { BookSnapshot, EngineSnapshot, L2Snapshot, OrderSnapshot, TopOfBook } from "./snapshot.ts";
import { resolveSymbolConfig } from "./symbolConfig.ts";
import type { SymbolConfig } from "./symbolConfig.ts";

export interface MatchingEngineOptions {
  symbols: SymbolConfig[];
  /** Emit `l2` delta events (default false). */
  l2?: boolean;
}

/** A live order, as seen from outside. */
export interface OrderView {
  id: string;
  symbol: string;
  owner: string;
  side: "buy" | "sell";
  price: number;
  /** Open quantity (iceberg: displayed + hidden). */
  qty: number;
  stop: boolean;
}

const MAX_ID_LENGTH = 128;

/** Time in force for the numeric entry point `placeLimit`. */
export const Tif = { GTC: 0, IOC: 1, FOK: 2 } as const;
const TIF_FLAGS = [0, OrderFlag.IOC, OrderFlag.FOK];

/** Returned by `placeLimit` / `placeMarket` when the order was rejected (`lastReject` says why). */
export const REJECTED = -2;
export { NO_HANDLE };

function isQty(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}

/**
 * Multi-symbol matching engine: pure and deterministic (no clock, no I/O, no
 * randomness). `apply(cmd, sink)` validates a command, runs it and returns a
 * code; events go to the sink synchronously (see EventSink on object reuse).
 * Orders of all books share one struct-of-arrays pool; client ids map to
 * pool handles in one Map (live orders only).
 */
export class MatchingEngine {
  private readonly pool = new OrderPool();
  private readonly levels = new LevelPool();
  private readonly ctx: EngineContext;
  private readonly books: Book[] = [];
  private readonly bookByName = new Map<string, number>();
  private arrival = 0;
  /** Reason of the last rejection by a numeric entry point (ENGINE_OK if none yet). */
  lastReject: EngineCode = EngineCode.OK;
  /**
   * Per pool slot, the order object the last `snapshot()` captured for it: handed out again
   * while the order is unchanged, so a capture allocates only for what changed since the last.
   */
  private snapCache: (OrderSnapshot | undefined)[] = [];
  private readonly snapStamp = new SnapshotStamps();
  /** What the last `snapshot()` did: order objects reused from the capture before, and made anew. */
  readonly snapshotCost = { reused: 0, copied: 0 };
  private readonly evRejected: RejectedEvent = { type: "rejected", symbol: "", id: "", reason: EngineCode.OK, seq: 0 };

  constructor(options: MatchingEngineOptions) {
    this.ctx = { sink: null, buf: null, l2: options.l2 ?? false };
    for (const s of options.symbols) this.addSymbol(s);
  }

  /** Adds a symbol; returns false if it exists or the config is invalid. */
  addSymbol(config: SymbolConfig): boolean {
    const c = resolveSymbolConfig(config);
    if (this.bookByName.has(c.symbol)) return false;
    for (const v of [c.tickSize, c.lotSize, c.minQty, c.maxQty]) if (!isQty(v)) return false;
    if (c.bandTicks !== null && !(Number.isSafeInteger(c.bandTicks) && c.bandTicks >= 0)) return false;
    if (c.bandBps !== null && !(Number.isSafeInteger(c.bandBps) && c.bandBps >= 0 && c.bandBps <= 10000)) return false;
    if (!Object.hasOwn(StpCode, c.stpDefault)) return false;
    const i = this.books.length;
    this.books.push(new Book(i, c, this.pool, this.levels, this.ctx));
    this.bookByName.set(c.symbol, i);
    return true;
  }

  symbols(): string[] {
    return this.books.map((b) => b.config.symbol);
  }

  /** Applies one command. Never throws on bad input: returns a code (and emits `rejected`). */
  apply(cmd: Command, sink: EventSink | null = null): EngineCode {
    this.ctx.sink = sink;
    this.ctx.buf = null;
    if (cmd === null || typeof cmd !== "object") return this.reject(null, "", EngineCode.MALFORMED_COMMAND);
    switch (cmd.type) {
      case "limit":
      case "market":
      case "stop":
        return this.place(cmd);
      case "cancel": {
        const h = typeof cmd.id === "string" ? this.pool.byId.get(cmd.id) : undefined;
        if (h === undefined) return this.reject(null, cmd.id, EngineCode.UNKNOWN_ORDER);
        this.books[this.pool.book[h]].cancelLive(h, EngineCode.USER_CANCELLED);
        return EngineCode.OK;
      }
      case "cancelAll":
        return this.cancelAll(cmd.owner, cmd.symbol);
      case "amend":
        return this.amend(cmd.id, cmd.price, cmd.qty);
      default:
        return this.reject(null, (cmd as { id?: unknown }).id, EngineCode.UNKNOWN_COMMAND);
    }
  }

  private reject(book: Book | null, id: unknown, reason: EngineCode, symbol = ""): EngineCode {
    const sid = typeof id === "string" ? id : "";
    if (book !== null) book.emitRejected(sid, reason);
    else if (this.ctx.sink !== null) {
      const e = this.evRejected;
      e.symbol = symbol;
      e.id = sid;
      e.reason = reason;
      this.ctx.sink(e);
    } else if (this.ctx.buf !== null) {
      const b = this.ctx.buf;
      b.reason[b.push(EventKind.rejected, -1, 0)] = reason;
    }
    return reason;
  }

  private bookOf(symbol: unknown): Book | null {
    if (symbol === undefined) return this.books.length === 1 ? this.books[0] : null;
    const i = typeof symbol === "string" ? this.bookByName.get(symbol) : undefined;
    return i === undefined ? null : this.books[i];
  }

  private place(cmd: Command & { type: "limit" | "market" | "stop" }): EngineCode {
    const book = this.bookOf(cmd.symbol);
    if (book === null) return this.reject(null, cmd.id, EngineCode.UNKNOWN_SYMBOL, String(cmd.symbol));
    const c = book.config;
    const id = cmd.id;
    if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) return this.reject(book, id, EngineCode.INVALID_ID);
    const pool = this.pool;
    if (pool.byId.has(id)) return this.reject(book, id, EngineCode.DUPLICATE_ID);
    const owner = cmd.owner;
    if (typeof owner !== "string" || owner.length === 0) return this.reject(book, id, EngineCode.INVALID_OWNER);
    const ben = cmd.beneficialOwner;
    if (ben !== undefined && (typeof ben !== "string" || ben.length === 0)) return this.reject(book, id, EngineCode.INVALID_OWNER);
    const side = cmd.side === "buy" ? BUY : cmd.side === "sell" ? SELL : -1;
    if (side < 0) return this.reject(book, id, EngineCode.INVALID_SIDE);
    let stp = book.stpCode;
    if (cmd.stp !== undefined) {
      if (typeof cmd.stp !== "string" || !Object.hasOwn(StpCode, cmd.stp)) return this.reject(book, id, EngineCode.INVALID_STP);
      stp = StpCode[cmd.stp as StpMode];
    }

    let price = 0;
    let qty = 0;
    let flags = 0;
    let peak = 0;
    let stopPrice = 0;
    let funds: bigint | null = null;
    const type = cmd.type;
    if (type === "limit" || (type === "stop" && cmd.price !== undefined)) {
      price = cmd.price as number;
      if (!isQty(price)) return this.reject(book, id, EngineCode.INVALID_PRICE);
      if (price % c.tickSize !== 0) return this.reject(book, id, EngineCode.PRICE_NOT_ON_TICK);
      const tif = cmd.tif;
      if (tif === "IOC") flags |= OrderFlag.IOC;
      else if (tif === "FOK") flags |= OrderFlag.FOK;
      else if (tif !== undefined && tif !== "GTC") return this.reject(book, id, EngineCode.INVALID_TIF);
    }
    if (type === "market" && cmd.funds !== undefined) {
      const f = cmd.funds;
      if (cmd.qty !== undefined || !(typeof f === "bigint" ? f > 0n : isQty(f))) return this.reject(book, id, EngineCode.INVALID_FUNDS);
      funds = BigInt(f);
    } else {
      qty = cmd.qty as number;
      const code = this.checkQty(qty, c.lotSize, c.minQty, c.maxQty);
      if (code !== EngineCode.OK) return this.reject(book, id, code);
    }
    if (type === "limit") {
      if (cmd.postOnly !== undefined) {
        if (typeof cmd.postOnly !== "boolean" || (cmd.postOnly && flags !== 0)) return this.reject(book, id, EngineCode.INVALID_TIF);
        if (cmd.postOnly) {
          if (book.crosses(side, price)) return this.reject(book, id, EngineCode.POST_ONLY_WOULD_TAKE);
          flags |= OrderFlag.POST_ONLY;
        }
      }
      if (cmd.displayQty !== undefined) {
        peak = cmd.displayQty;
        if (!isQty(peak) || peak % c.lotSize !== 0 || peak > qty || (flags & (OrderFlag.IOC | OrderFlag.FOK)) !== 0)
          return this.reject(book, id, EngineCode.INVALID_ICEBERG);
        flags |= OrderFlag.ICEBERG;
      }
    } else if (type === "stop") {
      stopPrice = cmd.stopPrice;
      if (!isQty(stopPrice) || stopPrice % c.tickSize !== 0) return this.reject(book, id, EngineCode.INVALID_STOP_PRICE);
      flags |= OrderFlag.STOP;
      if (cmd.price !== undefined) flags |= OrderFlag.STOP_LIMIT;
      else if (cmd.tif !== undefined) return this.reject(book, id, EngineCode.INVALID_TIF);
    }

    pool.sweepOwners();
    const h = this.newOrder(book.index, id, pool.intern(owner), ben === undefined ? -1 : pool.intern(ben), side, price, qty, flags | OrderFlag.INDEXED, stp);
    pool.holdOwners(h);
    pool.peak[h] = peak;
    pool.stopPrice[h] = stopPrice;
    if (type === "limit") book.placeLimit(h);
    else if (type === "market") book.placeMarket(h, funds);
    else book.placeStop(h);
    return EngineCode.OK;
  }

  /** Allocates a slot and sets the common fields (peak, stopPrice = 0). */
  private newOrder(book: number, id: string, owner: number, ben: number, side: number, price: number, qty: number, flags: number, stp: number): number {
    const pool = this.pool;
    const h = pool.alloc();
    pool.ids[h] = id;
    pool.owner[h] = owner;
    pool.ben[h] = ben;
    pool.side[h] = side;
    pool.price[h] = price;
    pool.qty[h] = qty;
    pool.hidden[h] = 0;
    pool.peak[h] = 0;
    pool.stopPrice[h] = 0;
    pool.flags[h] = flags;
    pool.stp[h] = stp;
    pool.book[h] = book;
    pool.arrival[h] = this.arrival++;
    return h;
  }

  // ------------------------------------------------- numeric entry points

  /** Index of a symbol's book for the numeric entry points, or -1. */
  bookIndex(symbol: string): number {
    return this.bookByName.get(symbol) ?? -1;
  }

  /** Interns an owner name once; the index is what `placeLimit` / `placeMarket` take. -1 if empty. */
  ownerIndex(name: string): number {
    if (typeof name !== "string" || name.length === 0) return -1;
    const i = this.pool.intern(name);
    this.pool.pin(i);
    return i;
  }

  /**
   * A fresh owner id with no name, for a caller that keeps its own owner table (the byte-level
   * replay interns owner bytes itself): valid for `placeLimit` / `placeMarket`, never forgotten,
   * never matched by name. Two orders conflict (STP) exactly when they carry the same id.
   */
  anonymousOwner(): number {
    return this.pool.anonymous();
  }

  /**
   * Emits a rejection of an order on book `book` (seq counted as for any rejection) for a caller
   * that validates fields the numeric entry points do not see (the byte-level replay checks ids
   * itself); returns REJECTED.
   */
  rejectOrder(book: number, reason: EngineCode, sink: EventSink | EventBuffer | null = null): number {
    this.output(sink);
    return this.rejectNumeric(this.validBook(book) ? book : -1, "", reason);
  }

  /**
   * Hands a live numeric-core order over to the string-id API, as if `apply` had placed it:
   * client id `id` (unique among live orders, not checked), owner `owner` interned by name. After
   * this, `cancel` / `amend` / `cancelAll` / `order(id)` see it. For a caller that switches from
   * the numeric entry points to `apply` mid-stream (the byte-level replay on an unusual line).
   * Returns false for a stale handle.
   */
  adoptOrder(handle: number, id: string, owner: string): boolean {
    const p = this.pool;
    const h = p.slotOf(handle);
    if (h < 0 || (p.flags[h] & OrderFlag.INDEXED) !== 0) return false;
    p.ids[h] = id;
    p.owner[h] = p.intern(owner);
    p.flags[h] |= OrderFlag.INDEXED;
    p.holdOwners(h);
    p.track(h);
    return true;
  }

  /** Routes the events of one core call to a sink, an EventBuffer (cleared here) or nowhere. */
  private output(out: EventSink | EventBuffer | null): void {
    const ctx = this.ctx;
    if (out === null || typeof out === "function") {
      ctx.buf = null;
      ctx.sink = out;
    } else {
      out.count = 0;
      ctx.buf = out;
      ctx.sink = null;
    }
  }

  private rejectNumeric(book: number, id: string, reason: EngineCode): number {
    this.lastReject = reason;
    this.reject(book >= 0 && book < this.books.length ? this.books[book] : null, id, reason);
    return REJECTED;
  }

  private validBook(book: number): boolean {
    return book >= 0 && book < this.books.length && book === (book | 0);
  }

  private validOwner(owner: number): boolean {
    return owner >= 0 && owner < this.pool.ownerNames.length && owner === (owner | 0);
  }

  /**
   * Engine core entry point: a limit order on book `book` (see `bookIndex`)
   * for interned owner `owner` (see `ownerIndex`), side 0 = buy / 1 = sell,
   * `tif` from `Tif`. Same matching, STP (symbol default mode) and events as
   * `apply`, without parsing a command object or touching the client-id
   * index: `id` only labels the events (it need not be unique). Returns the
   * order's handle if it rests (for `cancelHandle`), NO_HANDLE if it
   * finished (traded, IOC/FOK/STP cancelled), or REJECTED. Events go to
   * `sink`: a sink function, an EventBuffer (cleared, then one record per
   * event) or null (no event work). The order is not in its owner's
   * cancelAll list.
   */
  placeLimit(book: number, owner: number, side: number, price: number, qty: number, tif = 0, id = "", sink: EventSink | EventBuffer | null = null): number {
    this.output(sink);
    if (!this.validBook(book)) return this.rejectNumeric(-1, id, EngineCode.UNKNOWN_SYMBOL);
    const b = this.books[book];
    const c = b.config;
    if (!this.validOwner(owner)) return this.rejectNumeric(book, id, EngineCode.INVALID_OWNER);
    if (side !== BUY && side !== SELL) return this.rejectNumeric(book, id, EngineCode.INVALID_SIDE);
    if (!isQty(price)) return this.rejectNumeric(book, id, EngineCode.INVALID_PRICE);
    if (c.tickSize !== 1 && price % c.tickSize !== 0) return this.rejectNumeric(book, id, EngineCode.PRICE_NOT_ON_TICK);
    const code = this.checkQty(qty, c.lotSize, c.minQty, c.maxQty);
    if (code !== EngineCode.OK) return this.rejectNumeric(book, id, code);
    if (tif !== 0 && tif !== 1 && tif !== 2) return this.rejectNumeric(book, id, EngineCode.INVALID_TIF);
    const pool = this.pool;
    const h = this.newOrder(book, id, owner, -1, side, price, qty, TIF_FLAGS[tif], b.stpCode);
    const g = pool.gen[h];
    b.placeLimit(h);
    return pool.gen[h] === g ? pool.handle(h) : NO_HANDLE;
  }

  /** Engine core entry point: market order by quantity (band applies). Returns NO_HANDLE or REJECTED. */
  placeMarket(book: number, owner: number, side: number, qty: number, id = "", sink: EventSink | EventBuffer | null = null): number {
    this.output(sink);
    if (!this.validBook(book)) return this.rejectNumeric(-1, id, EngineCode.UNKNOWN_SYMBOL);
    const b = this.books[book];
    const c = b.config;
    if (!this.validOwner(owner)) return this.rejectNumeric(book, id, EngineCode.INVALID_OWNER);
    if (side !== BUY && side !== SELL) return this.rejectNumeric(book, id, EngineCode.INVALID_SIDE);
    const code = this.checkQty(qty, c.lotSize, c.minQty, c.maxQty);
    if (code !== EngineCode.OK) return this.rejectNumeric(book, id, code);
    const h = this.newOrder(book, id, owner, -1, side, 0, qty, 0, b.stpCode);
    b.placeMarket(h, null);
    return NO_HANDLE;
  }

  /** Cancels a live order by handle (from `placeLimit`): O(1). ENGINE_UNKNOWN_ORDER for a stale or bad handle. */
  cancelHandle(handle: number, sink: EventSink | EventBuffer | null = null): EngineCode {
    this.output(sink);
    const h = this.pool.slotOf(handle);
    if (h < 0) {
      this.lastReject = EngineCode.UNKNOWN_ORDER;
      return this.reject(null, "", EngineCode.UNKNOWN_ORDER);
    }
    this.books[this.pool.book[h]].cancelLive(h, EngineCode.USER_CANCELLED);
    return EngineCode.OK;
  }

  /** Handle of a live order placed by client id (string API), or NO_HANDLE. */
  handleOf(id: string): number {
    const h = this.pool.byId.get(id);
    return h === undefined ? NO_HANDLE : this.pool.handle(h);
  }

  private checkQty(qty: unknown, lot: number, min: number, max: number): EngineCode {
    if (!isQty(qty)) return EngineCode.INVALID_QTY;
    if (lot !== 1 && qty % lot !== 0) return EngineCode.QTY_NOT_ON_LOT;
    if (qty < min) return EngineCode.QTY_BELOW_MIN;
    if (qty > max) return EngineCode.QTY_ABOVE_MAX;
    return EngineCode.OK;
  }

  private cancelAll(owner: unknown, symbol: unknown): EngineCode {
    let filter = -1;
    if (symbol !== undefined) {
      const i = typeof symbol === "string" ? this.bookByName.get(symbol) : undefined;
      if (i === undefined) return this.reject(null, "", EngineCode.UNKNOWN_SYMBOL, String(symbol));
      filter = i;
    }
    if (typeof owner !== "string" || owner.length === 0) return this.reject(null, "", EngineCode.INVALID_OWNER);
    const pool = this.pool;
    const o = pool.ownerIndex.get(owner);
    if (o === undefined) return EngineCode.OK;
    // Cancel in arrival order so the event sequence does not depend on list order.
    const hs: number[] = [];
    for (let h = pool.ownerHead[o]; h >= 0; h = pool.oNext[h]) if (filter < 0 || pool.book[h] === filter) hs.push(h);
    hs.sort((a, b) => pool.arrival[a] - pool.arrival[b]);
    for (const h of hs) this.books[pool.book[h]].cancelLive(h, EngineCode.CANCEL_ALL);
    return EngineCode.OK;
  }

  private amend(id: unknown, price: unknown, qty: unknown): EngineCode {
    const pool = this.pool;
    const h = typeof id === "string" ? pool.byId.get(id) : undefined;
    if (h === undefined) return this.reject(null, id, EngineCode.UNKNOWN_ORDER);
    const book = this.books[pool.book[h]];
    if (pool.flags[h] & OrderFlag.STOP) return this.reject(book, id, EngineCode.NOT_AMENDABLE);
    const c = book.config;
    const newPrice = price === undefined ? pool.price[h] : price;
    if (!isQty(newPrice)) return this.reject(book, id, EngineCode.INVALID_PRICE);
    if (newPrice % c.tickSize !== 0) return this.reject(book, id, EngineCode.PRICE_NOT_ON_TICK);
    const newQty = qty === undefined ? pool.qty[h] + pool.hidden[h] : qty;
    const code0 = this.checkQty(newQty, c.lotSize, c.minQty, c.maxQty);
    if (code0 !== EngineCode.OK) return this.reject(book, id, code0);
    const code = book.amend(h, newPrice, newQty as number);
    if (code !== EngineCode.OK) return this.reject(book, id, code);
    return EngineCode.OK;
  }

  // ------------------------------------------------------------ queries

  /** A live order by client id, or null. */
  order(id: string): OrderView | null {
    const p = this.pool;
    const h = p.byId.get(id);
    if (h === undefined) return null;
    return {
      id,
      symbol: this.books[p.book[h]].config.symbol,
      owner: p.ownerNames[p.owner[h]],
      side: SIDE_NAMES[p.side[h]],
      price: p.price[h],
      qty: p.qty[h] + p.hidden[h],
      stop: (p.flags[h] & OrderFlag.STOP) !== 0,
    };
  }

  /** Number of live orders (resting + stops) in all books. */
  liveOrders(): number {
    return this.pool.live;
  }

  /** Per-book sequence number (0 for an unknown symbol). */
  seq(symbol: string): number {
    return this.bookOf(symbol)?.seq ?? 0;
  }

  /** The first level of each side of l2(symbol), read from the sides' cached best levels: what a pre-trade check asks per order, without building the depth. */
  top(symbol: string): TopOfBook | null {
    const book = this.bookOf(symbol);
    if (book === null) return null;
    const lv = this.levels;
    const b = book.bids.best;
    const a = book.asks.best;
    return { bid: b >= 0 ? lv.price[b] : 0, bidQty: b >= 0 ? lv.qty[b] : 0, ask: a >= 0 ? lv.price[a] : 0, askQty: a >= 0 ? lv.qty[a] : 0, seq: book.seq };
  }

  /** Aggregated L2 depth (displayed quantities), `depth` levels per side. */
  l2(symbol: string, depth = Infinity): L2Snapshot | null {
    const book = this.bookOf(symbol);
    if (book === null) return null;
    const lv = this.levels;
    const side = (bs: typeof book.bids, sign: number): [number, number][] => {
      const out: [number, number][] = [];
      bs.ladder.forEachDesc((k) => {
        if (out.length >= depth) return false;
        const price = k * sign;
        out.push([price, lv.qty[bs.get(price)]]);
        return true;
      });
      return out;
    };
    return { symbol: book.config.symbol, seq: book.seq, bids: side(book.bids, 1), asks: side(book.asks, -1) };
  }

  // ------------------------------------------------------------ snapshots

  private orderSnapshot(h: number): OrderSnapshot {
    const p = this.pool;
    return {
      id: p.ids[h],
      owner: p.ownerNames[p.owner[h]],
      beneficialOwner: p.ben[h] >= 0 ? p.ownerNames[p.ben[h]] : null,
      side: SIDE_NAMES[p.side[h]],
      price: p.price[h],
      qty: p.qty[h],
      hidden: p.hidden[h],
      peak: p.peak[h],
      stopPrice: p.stopPrice[h],
      flags: p.flags[h],
      stp: STP_NAMES[p.stp[h]],
      arrival: p.arrival[h],
    };
  }

  /**
   * The captured object of slot h: the previous capture's if it still describes the order.
   * `arrival` is unique per order over the engine's life (restore continues the count), so an
   * equal arrival means the same order in the slot, whose id, owners, side, STP mode, iceberg
   * slice and stop price never change; what can change (fills, amends, iceberg slices, flags)
   * is compared against copies kept in typed arrays per slot (dense: the compare walks no
   * objects, which on a 30k book cost more than building them afresh).
   */
  private capturedOrder(h: number): OrderSnapshot {
    const p = this.pool;
    const st = this.snapStamp;
    if (h < st.cap && st.arrival[h] === p.arrival[h] && st.qty[h] === p.qty[h] && st.price[h] === p.price[h] && st.hidden[h] === p.hidden[h] && st.flags[h] === p.flags[h]) {
      this.snapshotCost.reused++;
      return this.snapCache[h] as OrderSnapshot;
    }
    this.snapshotCost.copied++;
    const o = this.orderSnapshot(h);
    const cache = this.snapCache;
    // grown densely (never a hole past the end), so the array keeps fast elements
    while (cache.length <= h) cache.push(undefined);
    cache[h] = o;
    if (h >= st.cap) st.grow(p.cap);
    st.arrival[h] = o.arrival;
    st.qty[h] = o.qty;
    st.price[h] = o.price;
    st.hidden[h] = o.hidden;
    st.flags[h] = o.flags;
    return o;
  }

  /**
   * Whole engine state, versioned, JSON-serialisable (no bigints, no handles).
   *
   * Incremental: an order unchanged since the previous capture is the same (read-only) object
   * as in that capture, so the cost is one compare per live order plus an object per order that
   * changed or arrived. Callers must not mutate the result (restore and JSON only read it).
   * `{ full: true }` builds every object afresh (the reference the incremental path is tested
   * against).
   */
  snapshot(opts: { full?: boolean } = {}): EngineSnapshot {
    const p = this.pool;
    const lv = this.levels;
    const cost = this.snapshotCost;
    cost.reused = 0;
    cost.copied = 0;
    const capture = opts.full === true ? (h: number) => this.orderSnapshot(h) : (h: number) => this.capturedOrder(h);
    const books: BookSnapshot[] = this.books.map((b) => {
      const orders: OrderSnapshot[] = [];
      for (const [bs, sign] of [
        [b.bids, 1],
        [b.asks, -1],
      ] as const) {
        bs.ladder.forEachDesc((k) => {
          for (let h = lv.head[bs.get(k * sign)]; h >= 0; h = p.next[h]) orders.push(capture(h));
          return true;
        });
      }
      const stops = b.stops.map(capture).sort((x, y) => x.arrival - y.arrival);
      return { config: { ...b.config }, seq: b.seq, lastPrice: b.lastPrice, orders, stops };
    });
    return { version: SNAPSHOT_VERSION, arrival: this.arrival, l2: this.ctx.l2, books };
  }

  /** Rebuilds an engine from `snapshot()` output (also after a JSON round trip). */
  static restore(snap: EngineSnapshot): MatchingEngine {
    if (snap.version !== SNAPSHOT_VERSION) throw new RangeError(`${EngineCode.MALFORMED_COMMAND}: snapshot version ${snap.version}`);
    const e = new MatchingEngine({ symbols: snap.books.map((b) => b.config as SymbolConfig), l2: snap.l2 });
    e.arrival = snap.arrival;
    const p = e.pool;
    snap.books.forEach((bs, bi) => {
      const book = e.books[bi];
      book.seq = bs.seq;
      book.lastPrice = bs.lastPrice;
      const load = (o: OrderSnapshot): number => {
        const h = p.alloc();
        p.ids[h] = o.id;
        p.owner[h] = p.intern(o.owner);
        p.ben[h] = o.beneficialOwner === null ? -1 : p.intern(o.beneficialOwner);
        p.side[h] = o.side === "buy" ? BUY : SELL;
        p.price[h] = o.price;
        p.qty[h] = o.qty;
        p.hidden[h] = o.hidden;
        p.peak[h] = o.peak;
        p.stopPrice[h] = o.stopPrice;
        p.flags[h] = o.flags;
        p.stp[h] = StpCode[o.stp];
        p.arrival[h] = o.arrival;
        p.book[h] = bi;
        if (o.flags & OrderFlag.INDEXED) p.holdOwners(h);
        else {
          // a numeric-core order: its caller may still hold these owner ids
          p.pin(p.owner[h]);
          if (p.ben[h] >= 0) p.pin(p.ben[h]);
        }
        return h;
      };
      for (const o of bs.orders) book.restoreResting(load(o));
      for (const o of bs.stops) book.restoreStop(load(o));
    });
    return e;
  }

  /** sha256 of the canonical snapshot JSON: equal states give equal hashes. */
  stateHash(): string {
    return createHash("sha256").update(JSON.stringify(this.snapshot())).digest("hex");
  }
}

/** Per pool slot, the changeable fields of the order object last captured for it (arrival -1: none). */
class SnapshotStamps {
  cap = 0;
  arrival = new Float64Array(0);
  qty = new Float64Array(0);
  price = new Float64Array(0);
  hidden = new Float64Array(0);
  flags = new Uint8Array(0);

  grow(cap: number): void {
    const f64 = (a: Float64Array, fill: number) => {
      const b = new Float64Array(cap).fill(fill);
      b.set(a);
      return b;
    };
    this.arrival = f64(this.arrival, -1);
    this.qty = f64(this.qty, 0);
    this.price = f64(this.price, 0);
    this.hidden = f64(this.hidden, 0);
    const fl = new Uint8Array(cap);
    fl.set(this.flags);
    this.flags = fl;
    this.cap = cap;
  }
}
