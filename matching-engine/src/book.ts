import { EngineCode } from "./codes.ts";
import type { Side } from "./command.ts";
import type {
  AcceptedEvent,
  AmendedEvent,
  CancelledEvent,
  EventSink,
  L2Event,
  RejectedEvent,
  TradeEvent,
  TriggeredEvent,
} from "./events.ts";
import { EventBuffer, EventKind, OrderTypeCode } from "./eventBuffer.ts";
import { BUY, LevelPool, OrderFlag, OrderPool, SELL, StpCode } from "./orderPool.ts";
import { PriceLadder } from "./priceLadder.ts";
import type { ResolvedSymbolConfig } from "./symbolConfig.ts";

export const SIDE_NAMES: readonly Side[] = ["buy", "sell"];

/** Shared by the engine and its books for the duration of one `apply`. */
export interface EngineContext {
  sink: EventSink | null;
  /** Numeric event output of the core entry points (null when `sink` is used). */
  buf: EventBuffer | null;
  l2: boolean;
}

/** Width of the dense price window of each book side (prices, i.e. ticks × tickSize units). */
export const WINDOW = 4096;

/**
 * One side of a book: price -> level index, sorted ladder, cached best level.
 * The index is a dense window (Int32Array indexed by price - base, no hashing)
 * for the WINDOW prices around where the side's first level appeared, with a
 * Map for prices outside it; the window re-centres whenever the side empties.
 */
export class BookSide {
  readonly ladder = new PriceLadder();
  /** Levels whose price is outside the window. */
  readonly far = new Map<number, number>();
  readonly window = new Int32Array(WINDOW).fill(-1);
  base = 0;
  best = -1;
  readonly side: number;
  constructor(side: number) {
    this.side = side;
  }

  /** Level at `price`, or -1. */
  get(price: number): number {
    const i = price - this.base;
    if (i >= 0 && i < WINDOW) return this.window[i];
    const l = this.far.get(price);
    return l === undefined ? -1 : l;
  }

  set(price: number, l: number): void {
    if (this.ladder.size === 0) this.base = price > WINDOW / 2 ? price - WINDOW / 2 : 0;
    const i = price - this.base;
    if (i >= 0 && i < WINDOW) this.window[i] = l;
    else this.far.set(price, l);
  }

  delete(price: number): void {
    const i = price - this.base;
    if (i >= 0 && i < WINDOW) this.window[i] = -1;
    else this.far.delete(price);
  }
}

const TIF_MASK = OrderFlag.IOC | OrderFlag.FOK;

/**
 * One symbol's book: price-time priority matching over the shared pools.
 * Commands arrive here validated by MatchingEngine; the book emits events
 * and never throws. An order being executed (taker) is in no list; it joins
 * its level, the id index and its owner's list only when it rests.
 */
export class Book {
  readonly index: number;
  readonly config: ResolvedSymbolConfig;
  /** The symbol's default STP mode as a StpCode. */
  readonly stpCode: number;
  readonly bids = new BookSide(BUY);
  readonly asks = new BookSide(SELL);
  /** Stop orders waiting for their trigger (handles). */
  readonly stops: number[] = [];
  seq = 0;
  /** Last trade price, 0 before the first trade. */
  lastPrice = 0;
  private stopsDirty = false;
  private readonly pool: OrderPool;
  private readonly lv: LevelPool;
  private readonly ctx: EngineContext;

  private readonly evAccepted: AcceptedEvent;
  private readonly evRejected: RejectedEvent;
  private readonly evTrade: TradeEvent;
  private readonly evCancelled: CancelledEvent;
  private readonly evAmended: AmendedEvent;
  private readonly evTriggered: TriggeredEvent;
  private readonly evL2: L2Event;

  constructor(index: number, config: ResolvedSymbolConfig, pool: OrderPool, lv: LevelPool, ctx: EngineContext) {
    this.index = index;
    this.config = config;
    this.stpCode = StpCode[config.stpDefault];
    this.pool = pool;
    this.lv = lv;
    this.ctx = ctx;
    const symbol = config.symbol;
    this.evAccepted = { type: "accepted", symbol, id: "", owner: "", side: "buy", orderType: "limit", price: 0, qty: 0, seq: 0 };
    this.evRejected = { type: "rejected", symbol, id: "", reason: EngineCode.OK, seq: 0 };
    this.evTrade = {
      type: "trade",
      symbol,
      maker: "",
      taker: "",
      price: 0,
      qty: 0,
      side: "buy",
      makerOwner: "",
      takerOwner: "",
      makerLeft: 0,
      takerLeft: 0,
      seq: 0,
    };
    this.evCancelled = { type: "cancelled", symbol, id: "", qty: 0, left: 0, reason: EngineCode.OK, seq: 0 };
    this.evAmended = { type: "amended", symbol, id: "", price: 0, qty: 0, priorityKept: false, seq: 0 };
    this.evTriggered = { type: "triggered", symbol, id: "", stopPrice: 0, lastPrice: 0, seq: 0 };
    this.evL2 = { type: "l2", symbol, side: "buy", price: 0, qty: 0, seq: 0 };
  }

  // ------------------------------------------------------------------ events

  emitRejected(id: string, reason: EngineCode): void {
    this.seq++;
    const sink = this.ctx.sink;
    if (sink !== null) {
      const e = this.evRejected;
      e.id = id;
      e.reason = reason;
      e.seq = this.seq;
      sink(e);
    } else if (this.ctx.buf !== null) this.bufRejected(reason);
  }

  private bufRejected(reason: EngineCode): void {
    const b = this.ctx.buf as EventBuffer;
    b.reason[b.push(EventKind.rejected, this.index, this.seq)] = reason;
  }

  private emitAccepted(h: number, orderType: AcceptedEvent["orderType"], qty: number): void {
    this.seq++;
    const sink = this.ctx.sink;
    if (sink !== null) {
      const p = this.pool;
      const e = this.evAccepted;
      e.id = p.ids[h];
      e.owner = p.ownerNames[p.owner[h]];
      e.side = SIDE_NAMES[p.side[h]];
      e.orderType = orderType;
      e.price = p.price[h];
      e.qty = qty;
      e.seq = this.seq;
      sink(e);
    } else if (this.ctx.buf !== null) this.bufAccepted(h, orderType, qty);
  }

  private bufAccepted(h: number, orderType: AcceptedEvent["orderType"], qty: number): void {
    const p = this.pool;
    const b = this.ctx.buf as EventBuffer;
    const i = b.push(EventKind.accepted, this.index, this.seq);
    b.order[i] = p.handle(h);
    b.side[i] = p.side[h];
    b.price[i] = p.price[h];
    b.qty[i] = qty;
    b.flag[i] = orderType === "limit" ? OrderTypeCode.limit : orderType === "market" ? OrderTypeCode.market : OrderTypeCode.stop;
  }

  private emitTrade(m: number, h: number, price: number, qty: number, makerLeft: number, takerLeft: number): void {
    this.seq++;
    const sink = this.ctx.sink;
    if (sink !== null) {
      const p = this.pool;
      const e = this.evTrade;
      e.maker = p.ids[m];
      e.taker = p.ids[h];
      e.price = price;
      e.qty = qty;
      e.side = SIDE_NAMES[p.side[h]];
      e.makerOwner = p.ownerNames[p.owner[m]];
      e.takerOwner = p.ownerNames[p.owner[h]];
      e.makerLeft = makerLeft;
      e.takerLeft = takerLeft;
      e.seq = this.seq;
      sink(e);
    } else if (this.ctx.buf !== null) this.bufTrade(m, h, price, qty, makerLeft, takerLeft);
  }

  private bufTrade(m: number, h: number, price: number, qty: number, makerLeft: number, takerLeft: number): void {
    const p = this.pool;
    (this.ctx.buf as EventBuffer).trade(this.index, this.seq, p.handle(m), p.handle(h), p.side[h], price, qty, makerLeft, takerLeft);
  }

  private emitCancelled(h: number, qty: number, left: number, reason: EngineCode): void {
    this.seq++;
    const sink = this.ctx.sink;
    if (sink !== null) {
      const e = this.evCancelled;
      e.id = this.pool.ids[h];
      e.qty = qty;
      e.left = left;
      e.reason = reason;
      e.seq = this.seq;
      sink(e);
    } else if (this.ctx.buf !== null) this.bufCancelled(h, qty, left, reason);
  }

  private bufCancelled(h: number, qty: number, left: number, reason: EngineCode): void {
    const b = this.ctx.buf as EventBuffer;
    const i = b.push(EventKind.cancelled, this.index, this.seq);
    b.order[i] = this.pool.handle(h);
    b.qty[i] = qty;
    b.left[i] = left;
    b.reason[i] = reason;
  }

  private emitAmended(h: number, priorityKept: boolean): void {
    this.seq++;
    const sink = this.ctx.sink;
    if (sink !== null) {
      const p = this.pool;
      const e = this.evAmended;
      e.id = p.ids[h];
      e.price = p.price[h];
      e.qty = p.qty[h] + p.hidden[h];
      e.priorityKept = priorityKept;
      e.seq = this.seq;
      sink(e);
    } else if (this.ctx.buf !== null) {
      const p = this.pool;
      const b = this.ctx.buf;
      const i = b.push(EventKind.amended, this.index, this.seq);
      b.order[i] = p.handle(h);
      b.price[i] = p.price[h];
      b.qty[i] = p.qty[h] + p.hidden[h];
      b.flag[i] = priorityKept ? 1 : 0;
    }
  }

  private emitL2(side: number, level: number): void {
    if (this.ctx.l2) this.l2Out(side, level);
  }

  private l2Out(side: number, level: number): void {
    const sink = this.ctx.sink;
    if (sink !== null) {
      const e = this.evL2;
      e.side = SIDE_NAMES[side];
      e.price = this.lv.price[level];
      e.qty = this.lv.qty[level];
      e.seq = this.seq;
      sink(e);
    } else if (this.ctx.buf !== null) {
      const b = this.ctx.buf;
      const i = b.push(EventKind.l2, this.index, this.seq);
      b.side[i] = side;
      b.price[i] = this.lv.price[level];
      b.qty[i] = this.lv.qty[level];
    }
  }

  // ------------------------------------------------------------ level helpers

  /** Would a `side` order at `price` take liquidity right now? */
  crosses(side: number, price: number): boolean {
    if (side === BUY) {
      const b = this.asks.best;
      return b >= 0 && this.lv.price[b] <= price;
    }
    const b = this.bids.best;
    return b >= 0 && this.lv.price[b] >= price;
  }

  /** Best opposite price for a `side` taker, or 0 if that side is empty. */
  bestOpposite(side: number): number {
    const b = side === BUY ? this.asks.best : this.bids.best;
    return b >= 0 ? this.lv.price[b] : 0;
  }

  private levelFor(bs: BookSide, price: number): number {
    let l = bs.get(price);
    if (l < 0) {
      l = this.lv.alloc(price);
      bs.set(price, l);
      bs.ladder.insert(bs.side === BUY ? price : -price);
      const b = bs.best;
      if (b < 0 || (bs.side === BUY ? price > this.lv.price[b] : price < this.lv.price[b])) bs.best = l;
    }
    return l;
  }

  private removeLevel(bs: BookSide, l: number): void {
    const lv = this.lv;
    const price = lv.price[l];
    bs.delete(price);
    bs.ladder.remove(bs.side === BUY ? price : -price);
    lv.release(l);
    if (bs.best === l) {
      if (bs.ladder.size === 0) bs.best = -1;
      else {
        const k = bs.ladder.max();
        bs.best = bs.get(bs.side === BUY ? k : -k);
      }
    }
  }

  /** Appends h at the tail of level l (qty already set). */
  private append(l: number, h: number): void {
    const p = this.pool;
    const lv = this.lv;
    const t = lv.tail[l];
    p.prev[h] = t;
    p.next[h] = -1;
    if (t >= 0) p.next[t] = h;
    else lv.head[l] = h;
    lv.tail[l] = h;
    lv.count[l]++;
    lv.qty[l] += p.qty[h];
    p.level[h] = l;
  }

  /** Unlinks h from its level (the level may become empty; caller cleans up). */
  private unlink(h: number): void {
    const p = this.pool;
    const lv = this.lv;
    const l = p.level[h];
    const pr = p.prev[h];
    const nx = p.next[h];
    if (pr >= 0) p.next[pr] = nx;
    else lv.head[l] = nx;
    if (nx >= 0) p.prev[nx] = pr;
    else lv.tail[l] = pr;
    lv.count[l]--;
    lv.qty[l] -= p.qty[h];
  }

  /** Puts h (validated, not linked anywhere) on the book. */
  private rest(h: number): void {
    const p = this.pool;
    const peak = p.peak[h];
    if (peak > 0) {
      const total = p.qty[h];
      const vis = total < peak ? total : peak;
      p.qty[h] = vis;
      p.hidden[h] = total - vis;
    } else p.hidden[h] = 0;
    const side = p.side[h];
    const l = this.levelFor(side === BUY ? this.bids : this.asks, p.price[h]);
    this.append(l, h);
    p.track(h);
    this.emitL2(side, l);
  }

  /** Removes a live order from every index and frees its handle. */
  private drop(h: number): void {
    const p = this.pool;
    p.untrack(h);
    p.release(h);
  }

  /** Takes a resting order off its level (emitting the L2 delta), still indexed. */
  private lift(h: number): void {
    const p = this.pool;
    const l = p.level[h];
    const side = p.side[h];
    this.unlink(h);
    this.emitL2(side, l);
    if (this.lv.count[l] === 0) this.removeLevel(side === BUY ? this.bids : this.asks, l);
  }

  /** Snapshot restore: h has its final qty/hidden; appended at its level's tail. */
  restoreResting(h: number): void {
    const p = this.pool;
    const side = p.side[h];
    this.append(this.levelFor(side === BUY ? this.bids : this.asks, p.price[h]), h);
    p.track(h);
  }

  restoreStop(h: number): void {
    const p = this.pool;
    this.stops.push(h);
    p.track(h);
  }

  // ---------------------------------------------------------------- commands

  /** New limit order; fields are set in the pool by the engine. */
  placeLimit(h: number): void {
    this.emitAccepted(h, "limit", this.pool.qty[h]);
    this.execLimit(h);
    if (this.stopsDirty) this.runStops();
  }

  /** New market order by quantity (funds === null) or by funds. */
  placeMarket(h: number, funds: bigint | null): void {
    this.emitAccepted(h, "market", this.pool.qty[h]);
    if (funds === null) this.execMarket(h);
    else this.execFunds(h, funds);
    if (this.stopsDirty) this.runStops();
  }

  placeStop(h: number): void {
    const p = this.pool;
    this.emitAccepted(h, "stop", p.qty[h]);
    this.stops.push(h);
    p.track(h);
    if (this.lastPrice > 0) this.runStops();
  }

  /** Cancels a live order (resting or stop) with `reason`. */
  cancelLive(h: number, reason: EngineCode): void {
    const p = this.pool;
    if (p.flags[h] & OrderFlag.STOP) {
      const i = this.stops.indexOf(h);
      this.stops.splice(i, 1);
      this.emitCancelled(h, p.qty[h], 0, reason);
    } else {
      this.lift(h);
      this.emitCancelled(h, p.qty[h] + p.hidden[h], 0, reason);
    }
    this.drop(h);
  }

  /** Amends a live order; price/qty already validated. */
  amend(h: number, price: number, qty: number): EngineCode {
    const p = this.pool;
    if (p.flags[h] & OrderFlag.STOP) return EngineCode.NOT_AMENDABLE;
    const total = p.qty[h] + p.hidden[h];
    if (price === p.price[h]) {
      if (qty === total) return EngineCode.AMEND_NO_CHANGE;
      if (qty < total) {
        const vis = p.qty[h];
        const nv = vis < qty ? vis : qty;
        const l = p.level[h];
        this.lv.qty[l] -= vis - nv;
        p.qty[h] = nv;
        p.hidden[h] = qty - nv;
        this.emitAmended(h, true);
        this.emitL2(p.side[h], l);
        return EngineCode.OK;
      }
    } else if (p.flags[h] & OrderFlag.POST_ONLY && this.crosses(p.side[h], price)) {
      return EngineCode.POST_ONLY_WOULD_TAKE;
    }
    this.lift(h);
    p.untrack(h);
    p.price[h] = price;
    p.qty[h] = qty;
    p.hidden[h] = 0;
    this.emitAmended(h, false);
    this.execLimit(h);
    if (this.stopsDirty) this.runStops();
    return EngineCode.OK;
  }

  // --------------------------------------------------------------- execution

  private execLimit(h: number): void {
    const p = this.pool;
    const f = p.flags[h];
    if (f & OrderFlag.FOK && !this.fokFillable(h)) {
      this.emitCancelled(h, p.qty[h], 0, EngineCode.FOK_NOT_FILLED);
      p.release(h);
      return;
    }
    const price = p.price[h];
    if (this.crosses(p.side[h], price)) this.match(h, true, price);
    const left = p.qty[h];
    if (left > 0) {
      if (f & TIF_MASK) {
        this.emitCancelled(h, left, 0, EngineCode.IOC_REMAINDER);
        p.release(h);
      } else this.rest(h);
    } else p.release(h);
  }

  /** Market protection limit for a `side` taker, or NaN for none. */
  private bandLimit(side: number): number {
    const c = this.config;
    if (c.bandTicks === null && c.bandBps === null) return NaN;
    const best = this.bestOpposite(side);
    if (best === 0) return NaN;
    let d = Infinity;
    if (c.bandTicks !== null) d = c.bandTicks;
    if (c.bandBps !== null) {
      const prod = best * c.bandBps;
      const b = Number.isSafeInteger(prod) ? Math.floor(prod / 10000) : Number((BigInt(best) * BigInt(c.bandBps)) / 10000n);
      if (b < d) d = b;
    }
    return side === BUY ? best + d : best - d;
  }

  private execMarket(h: number): void {
    const p = this.pool;
    const side = p.side[h];
    const limit = this.bandLimit(side);
    const banded = limit === limit;
    this.match(h, banded, limit);
    const left = p.qty[h];
    if (left > 0) {
      const reason = banded && this.bestOpposite(side) !== 0 ? EngineCode.MARKET_PRICE_BAND : EngineCode.MARKET_NO_LIQUIDITY;
      this.emitCancelled(h, left, 0, reason);
    }
    p.release(h);
  }

  /**
   * Taker walk for a quantity order: trades h against the opposite side
   * while it has quantity and (if hasLimit) the level price is within limit.
   * Leaves the taker's open quantity in pool.qty[h] (0 if STP killed it).
   */
  private match(h: number, hasLimit: boolean, limit: number): void {
    const p = this.pool;
    const lv = this.lv;
    const isBuy = p.side[h] === BUY;
    const opp = isBuy ? this.asks : this.bids;
    const tOwner = p.owner[h];
    const tBen = p.ben[h];
    let rem = p.qty[h];
    while (rem > 0) {
      const l = opp.best;
      if (l < 0) break;
      const price = lv.price[l];
      if (hasLimit && (isBuy ? price > limit : price < limit)) break;
      let m = lv.head[l];
      let traded = false;
      while (m >= 0 && rem > 0) {
        let next = p.next[m];
        if (p.owner[m] === tOwner || (tBen >= 0 && p.ben[m] === tBen)) {
          p.qty[h] = rem;
          rem = this.selfTrade(h, m, rem);
          m = next;
          continue;
        }
        const mq = p.qty[m];
        const q = rem < mq ? rem : mq;
        rem -= q;
        p.qty[m] = mq - q;
        lv.qty[l] -= q;
        this.emitTrade(m, h, price, q, mq - q + p.hidden[m], rem);
        traded = true;
        if (mq === q) {
          if (p.hidden[m] > 0) {
            this.refill(m);
            if (next < 0) next = m;
          } else {
            this.unlink(m);
            this.drop(m);
          }
        }
        m = next;
      }
      if (traded) {
        this.lastPrice = price;
        this.stopsDirty = this.stops.length > 0;
      }
      this.emitL2(opp.side, l);
      if (lv.count[l] === 0) this.removeLevel(opp, l);
    }
    p.qty[h] = rem;
  }

  /** Iceberg m's slice is used up: next slice goes to the back of its level. */
  private refill(m: number): void {
    const p = this.pool;
    const l = p.level[m];
    this.unlink(m);
    const hid = p.hidden[m];
    const peak = p.peak[m];
    const vis = hid < peak ? hid : peak;
    p.qty[m] = vis;
    p.hidden[m] = hid - vis;
    this.append(l, m);
  }

  /**
   * Self-trade between taker h (open qty rem) and resting maker m, resolved by
   * the taker's STP mode. Returns the taker's open qty afterwards (0 = done).
   * The maker's level is cleaned up by the caller's loop.
   */
  private selfTrade(h: number, m: number, rem: number): number {
    const p = this.pool;
    const mode = p.stp[h];
    if (mode === StpCode.decrement && rem > 0) {
      const mTotal = p.qty[m] + p.hidden[m];
      const d = rem < mTotal ? rem : mTotal;
      this.emitCancelled(h, d, rem - d, EngineCode.STP_DECREMENT);
      if (d === mTotal) {
        this.unlink(m);
        this.emitCancelled(m, d, 0, EngineCode.STP_DECREMENT);
        this.drop(m);
      } else {
        const hid = p.hidden[m];
        if (d <= hid) p.hidden[m] = hid - d;
        else {
          p.hidden[m] = 0;
          p.qty[m] -= d - hid;
          this.lv.qty[p.level[m]] -= d - hid;
        }
        this.emitCancelled(m, d, mTotal - d, EngineCode.STP_DECREMENT);
      }
      return rem - d;
    }
    if (mode === StpCode.cancelOldest) {
      this.unlink(m);
      this.emitCancelled(m, p.qty[m] + p.hidden[m], 0, EngineCode.STP_CANCEL_OLDEST);
      this.drop(m);
      return rem;
    }
    if (mode === StpCode.cancelNewest) {
      this.emitCancelled(h, rem, 0, EngineCode.STP_CANCEL_NEWEST);
      return 0;
    }
    // cancelBoth (and decrement for a market-by-funds taker, which has no qty)
    this.unlink(m);
    this.emitCancelled(m, p.qty[m] + p.hidden[m], 0, EngineCode.STP_CANCEL_BOTH);
    this.drop(m);
    this.emitCancelled(h, rem, 0, EngineCode.STP_CANCEL_BOTH);
    return 0;
  }

  /**
   * FOK pre-check: would h fill completely within its limit? Per level the
   * taker first meets every maker's displayed qty in FIFO order; a self-trade
   * conflict is skipped under cancelOldest (that maker gets cancelled) and
   * ends the walk under any other mode (the taker would be cancelled or
   * decremented there). A level walked without such a stop also yields the
   * iceberg reserves of its makers (refills cycle at the back of the level).
   */
  private fokFillable(h: number): boolean {
    const p = this.pool;
    const lv = this.lv;
    const isBuy = p.side[h] === BUY;
    const opp = isBuy ? this.asks : this.bids;
    const limit = p.price[h];
    const need = p.qty[h];
    const tOwner = p.owner[h];
    const tBen = p.ben[h];
    const skipConflicts = p.stp[h] === StpCode.cancelOldest;
    let sum = 0;
    opp.ladder.forEachDesc((key) => {
      const price = isBuy ? -key : key;
      if (isBuy ? price > limit : price < limit) return false;
      let hidden = 0;
      for (let m = lv.head[opp.get(price)]; m >= 0; m = p.next[m]) {
        if (p.owner[m] === tOwner || (tBen >= 0 && p.ben[m] === tBen)) {
          if (!skipConflicts) return false;
        } else {
          sum += p.qty[m];
          if (sum >= need) return false;
          hidden += p.hidden[m];
        }
      }
      sum += hidden;
      return sum < need;
    });
    return sum >= need;
  }

  /** Market order by funds (notional, price x qty units), exact in bigint. */
  private execFunds(h: number, funds: bigint): void {
    const p = this.pool;
    const lv = this.lv;
    const side = p.side[h];
    const isBuy = side === BUY;
    const opp = isBuy ? this.asks : this.bids;
    const limit = this.bandLimit(side);
    const banded = limit === limit;
    const lot = this.config.lotSize;
    const tOwner = p.owner[h];
    const tBen = p.ben[h];
    let left = funds;
    let live = true;
    let reason: EngineCode | null = null;
    outer: while (live) {
      const l = opp.best;
      if (l < 0) {
        reason = EngineCode.MARKET_NO_LIQUIDITY;
        break;
      }
      const price = lv.price[l];
      if (banded && (isBuy ? price > limit : price < limit)) {
        reason = EngineCode.MARKET_PRICE_BAND;
        break;
      }
      const bp = BigInt(price);
      if (Number(left / bp) < lot) break; // funds used up (dust below one lot remains)
      let m = lv.head[l];
      let traded = false;
      while (m >= 0) {
        let next = p.next[m];
        let q = Number(left / bp);
        q -= q % lot;
        if (q === 0) {
          this.finishLevel(opp, l, price, traded);
          break outer;
        }
        if (p.owner[m] === tOwner || (tBen >= 0 && p.ben[m] === tBen)) {
          const mode = p.stp[h];
          if (mode === StpCode.cancelOldest) this.selfTrade(h, m, 0);
          else {
            // cancelNewest / cancelBoth / decrement (no qty to decrement: cancelBoth)
            if (mode !== StpCode.cancelNewest) {
              this.unlink(m);
              this.emitCancelled(m, p.qty[m] + p.hidden[m], 0, EngineCode.STP_CANCEL_BOTH);
              this.drop(m);
            }
            this.emitCancelled(h, 0, 0, mode === StpCode.cancelNewest ? EngineCode.STP_CANCEL_NEWEST : EngineCode.STP_CANCEL_BOTH);
            live = false;
            this.finishLevel(opp, l, price, traded);
            break outer;
          }
          m = next;
          continue;
        }
        const mq = p.qty[m];
        if (q > mq) q = mq;
        left -= bp * BigInt(q);
        p.qty[m] = mq - q;
        lv.qty[l] -= q;
        this.emitTrade(m, h, price, q, mq - q + p.hidden[m], 0);
        traded = true;
        if (mq === q) {
          if (p.hidden[m] > 0) {
            this.refill(m);
            if (next < 0) next = m;
          } else {
            this.unlink(m);
            this.drop(m);
          }
        }
        m = next;
      }
      this.finishLevel(opp, l, price, traded);
    }
    if (reason !== null && live) this.emitCancelled(h, 0, 0, reason);
    p.release(h);
  }

  private finishLevel(opp: BookSide, l: number, price: number, traded: boolean): void {
    if (traded) {
      this.lastPrice = price;
      this.stopsDirty = this.stops.length > 0;
    }
    this.emitL2(opp.side, l);
    if (this.lv.count[l] === 0) this.removeLevel(opp, l);
  }

  /**
   * Triggers stops by the last trade price: repeatedly the earliest-accepted
   * stop whose condition holds (buy: last >= stop, sell: last <= stop) is
   * triggered and executed, until none holds. O(stops) per round.
   */
  private runStops(): void {
    this.stopsDirty = false;
    const p = this.pool;
    const stops = this.stops;
    for (;;) {
      const last = this.lastPrice;
      if (last === 0 || stops.length === 0) return;
      let best = -1;
      let bi = -1;
      for (let i = 0; i < stops.length; i++) {
        const s = stops[i];
        const sp = p.stopPrice[s];
        if ((p.side[s] === BUY ? last >= sp : last <= sp) && (best < 0 || p.arrival[s] < p.arrival[best])) {
          best = s;
          bi = i;
        }
      }
      if (best < 0) return;
      stops.splice(bi, 1);
      p.untrack(best);
      p.flags[best] &= ~OrderFlag.STOP;
      this.seq++;
      const sink = this.ctx.sink;
      if (sink !== null) {
        const e = this.evTriggered;
        e.id = p.ids[best];
        e.stopPrice = p.stopPrice[best];
        e.lastPrice = last;
        e.seq = this.seq;
        sink(e);
      } else if (this.ctx.buf !== null) {
        const b = this.ctx.buf;
        const i = b.push(EventKind.triggered, this.index, this.seq);
        b.order[i] = p.handle(best);
        b.price[i] = p.stopPrice[best];
        b.qty[i] = last;
      }
      if (p.flags[best] & OrderFlag.STOP_LIMIT) this.execLimit(best);
      else this.execMarket(best);
      this.stopsDirty = false;
    }
  }
}
