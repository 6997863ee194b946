/**
 * Naive reference book for tests (exchange-core's "Naive" book idea):
 * plain objects in arrays, re-sorted after every change. Slow and obviously
 * correct; the property tests demand identical events from MatchingEngine.
 * Single symbol. Events are produced without `l2` deltas.
 */
import type { Command, Side, StpMode } from "../command.ts";
import type { EngineEvent } from "../events.ts";

interface RO {
  id: string;
  owner: string;
  ben: string | null;
  side: Side;
  price: number;
  qty: number;
  hidden: number;
  peak: number;
  stp: StpMode;
  tif: "GTC" | "IOC" | "FOK";
  postOnly: boolean;
  stopPrice: number;
  stopLimit: boolean;
  arrival: number;
  /** Time priority stamp: smaller = earlier in its level. */
  t: number;
}

export interface RefConfig {
  symbol: string;
  tickSize: number;
  lotSize: number;
  minQty: number;
  maxQty: number;
  bandTicks: number | null;
  stpDefault: StpMode;
}

const R = (r: string) => `ENGINE_${r}`;

export class ReferenceBook {
  bids: RO[] = [];
  asks: RO[] = [];
  stops: RO[] = [];
  seq = 0;
  last = 0;
  arrival = 0;
  clock = 0;
  out: EngineEvent[] = [];
  cfg: RefConfig;
  constructor(cfg: RefConfig) {
    this.cfg = cfg;
  }

  private ev(e: Record<string, unknown>): void {
    this.out.push({ type: e.type, symbol: this.cfg.symbol, ...e, seq: ++this.seq } as unknown as EngineEvent);
  }
  private engineReject(id: string, reason: string): string {
    this.out.push({ type: "rejected", symbol: "", id, reason, seq: 0 } as EngineEvent);
    return reason;
  }
  private reject(id: string, reason: string): string {
    this.ev({ type: "rejected", id, reason });
    return reason;
  }
  private sortBooks(): void {
    this.bids.sort((a, b) => b.price - a.price || a.t - b.t);
    this.asks.sort((a, b) => a.price - b.price || a.t - b.t);
  }
  private all(): RO[] {
    return [...this.bids, ...this.asks, ...this.stops];
  }
  private find(id: string): RO | undefined {
    return this.all().find((o) => o.id === id);
  }
  private removeFromBook(o: RO): void {
    const a = o.side === "buy" ? this.bids : this.asks;
    a.splice(a.indexOf(o), 1);
  }
  private conflict(a: RO, b: RO): boolean {
    return a.owner === b.owner || (a.ben !== null && a.ben === b.ben);
  }
  private crosses(side: Side, price: number): boolean {
    const opp = side === "buy" ? this.asks : this.bids;
    return opp.length > 0 && (side === "buy" ? opp[0].price <= price : opp[0].price >= price);
  }
  private checkQty(q: unknown): string | null {
    const c = this.cfg;
    if (typeof q !== "number" || !Number.isSafeInteger(q) || q <= 0) return R("INVALID_QTY");
    if (q % c.lotSize) return R("QTY_NOT_ON_LOT");
    if (q < c.minQty) return R("QTY_BELOW_MIN");
    if (q > c.maxQty) return R("QTY_ABOVE_MAX");
    return null;
  }

  apply(cmd: Command): string {
    let code: string;
    switch (cmd.type) {
      case "cancel": {
        const o = this.find(cmd.id);
        if (!o) return this.engineReject(cmd.id, R("UNKNOWN_ORDER"));
        this.cancelLive(o, R("USER_CANCELLED"));
        return R("OK");
      }
      case "cancelAll": {
        const mine = this.all()
          .filter((o) => o.owner === cmd.owner)
          .sort((a, b) => a.arrival - b.arrival);
        for (const o of mine) this.cancelLive(o, R("CANCEL_ALL"));
        return R("OK");
      }
      case "amend":
        code = this.amend(cmd.id, cmd.price, cmd.qty);
        break;
      default:
        code = this.place(cmd);
    }
    if (code === R("OK")) this.runStops();
    return code;
  }

  private cancelLive(o: RO, reason: string): void {
    if (this.stops.includes(o)) this.stops.splice(this.stops.indexOf(o), 1);
    else this.removeFromBook(o);
    this.ev({ type: "cancelled", id: o.id, qty: o.qty + o.hidden, left: 0, reason });
  }

  private place(cmd: Command & { type: "limit" | "market" | "stop" }): string {
    const c = this.cfg;
    const id = cmd.id;
    if (this.find(id)) return this.reject(id, R("DUPLICATE_ID"));
    const o: RO = {
      id,
      owner: cmd.owner,
      ben: cmd.beneficialOwner ?? null,
      side: cmd.side,
      price: 0,
      qty: 0,
      hidden: 0,
      peak: 0,
      stp: cmd.stp ?? c.stpDefault,
      tif: "GTC",
      postOnly: false,
      stopPrice: 0,
      stopLimit: false,
      arrival: 0,
      t: 0,
    };
    let funds: bigint | null = null;
    if (cmd.type === "limit" || (cmd.type === "stop" && cmd.price !== undefined)) {
      o.price = cmd.price as number;
      if (!(Number.isSafeInteger(o.price) && o.price > 0)) return this.reject(id, R("INVALID_PRICE"));
      if (o.price % c.tickSize) return this.reject(id, R("PRICE_NOT_ON_TICK"));
      o.tif = cmd.tif ?? "GTC";
    }
    if (cmd.type === "market" && cmd.funds !== undefined) funds = BigInt(cmd.funds);
    else {
      const e = this.checkQty(cmd.qty);
      if (e) return this.reject(id, e);
      o.qty = cmd.qty as number;
    }
    if (cmd.type === "limit") {
      if (cmd.postOnly) {
        if (this.crosses(o.side, o.price)) return this.reject(id, R("POST_ONLY_WOULD_TAKE"));
        o.postOnly = true;
      }
      if (cmd.displayQty !== undefined) {
        if (cmd.displayQty > o.qty || cmd.displayQty % c.lotSize || o.tif !== "GTC") return this.reject(id, R("INVALID_ICEBERG"));
        o.peak = cmd.displayQty;
      }
    }
    if (cmd.type === "stop") {
      if (cmd.stopPrice % c.tickSize) return this.reject(id, R("INVALID_STOP_PRICE"));
      o.stopPrice = cmd.stopPrice;
      o.stopLimit = cmd.price !== undefined;
    }
    o.arrival = this.arrival++;
    const orderType = cmd.type;
    this.ev({ type: "accepted", id, owner: o.owner, side: o.side, orderType, price: o.price, qty: o.qty });
    if (cmd.type === "limit") this.execLimit(o);
    else if (cmd.type === "market") this.execMarket(o, funds);
    else this.stops.push(o);
    return R("OK");
  }

  private amend(id: string, price?: number, qty?: number): string {
    const o = this.find(id);
    if (!o) return this.engineReject(id, R("UNKNOWN_ORDER"));
    if (this.stops.includes(o)) return this.reject(id, R("NOT_AMENDABLE"));
    const np = price ?? o.price;
    if (np % this.cfg.tickSize) return this.reject(id, R("PRICE_NOT_ON_TICK"));
    const nq = qty ?? o.qty + o.hidden;
    const e = this.checkQty(nq);
    if (e) return this.reject(id, e);
    const total = o.qty + o.hidden;
    if (np === o.price && nq === total) return this.reject(id, R("AMEND_NO_CHANGE"));
    if (np === o.price && nq < total) {
      const vis = Math.min(o.qty, nq);
      o.qty = vis;
      o.hidden = nq - vis;
      this.ev({ type: "amended", id, price: np, qty: nq, priorityKept: true });
      return R("OK");
    }
    if (np !== o.price && o.postOnly && this.crosses(o.side, np)) return this.reject(id, R("POST_ONLY_WOULD_TAKE"));
    this.removeFromBook(o);
    o.price = np;
    o.qty = nq;
    o.hidden = 0;
    this.ev({ type: "amended", id, price: np, qty: nq, priorityKept: false });
    this.execLimit(o);
    return R("OK");
  }

  /** FOK: run the match on a copy of the state and see whether it fills completely. */
  private fokFillable(o: RO): boolean {
    const copy = (a: RO[]) => a.map((x) => ({ ...x }));
    const saved = { bids: this.bids, asks: this.asks, stops: this.stops, seq: this.seq, last: this.last, clock: this.clock, n: this.out.length };
    this.bids = copy(this.bids);
    this.asks = copy(this.asks);
    this.stops = copy(this.stops);
    this.match({ ...o }, o.price);
    const filled = this.out
      .slice(saved.n)
      .reduce((s, e) => s + (e.type === "trade" && e.taker === o.id ? e.qty : 0), 0);
    Object.assign(this, { bids: saved.bids, asks: saved.asks, stops: saved.stops, seq: saved.seq, last: saved.last, clock: saved.clock });
    this.out.length = saved.n;
    return filled === o.qty;
  }

  private execLimit(o: RO): void {
    if (o.tif === "FOK" && !this.fokFillable(o)) {
      this.ev({ type: "cancelled", id: o.id, qty: o.qty, left: 0, reason: R("FOK_NOT_FILLED") });
      return;
    }
    this.match(o, o.price);
    if (o.qty > 0) {
      if (o.tif !== "GTC") {
        this.ev({ type: "cancelled", id: o.id, qty: o.qty, left: 0, reason: R("IOC_REMAINDER") });
      } else {
        if (o.peak > 0) {
          const total = o.qty;
          o.qty = Math.min(o.peak, total);
          o.hidden = total - o.qty;
        }
        o.t = ++this.clock;
        (o.side === "buy" ? this.bids : this.asks).push(o);
        this.sortBooks();
      }
    }
  }

  private bandLimit(side: Side): number | null {
    const opp = side === "buy" ? this.asks : this.bids;
    if (this.cfg.bandTicks === null || opp.length === 0) return null;
    return side === "buy" ? opp[0].price + this.cfg.bandTicks : opp[0].price - this.cfg.bandTicks;
  }

  private execMarket(o: RO, funds: bigint | null): void {
    const limit = this.bandLimit(o.side);
    if (funds === null) {
      this.match(o, limit);
      if (o.qty > 0) {
        const opp = o.side === "buy" ? this.asks : this.bids;
        const reason = limit !== null && opp.length > 0 ? "MARKET_PRICE_BAND" : "MARKET_NO_LIQUIDITY";
        this.ev({ type: "cancelled", id: o.id, qty: o.qty, left: 0, reason: R(reason) });
      }
      return;
    }
    const opp = o.side === "buy" ? this.asks : this.bids;
    let left = funds;
    for (;;) {
      const m = opp[0];
      if (!m) return this.ev({ type: "cancelled", id: o.id, qty: 0, left: 0, reason: R("MARKET_NO_LIQUIDITY") });
      if (limit !== null && (o.side === "buy" ? m.price > limit : m.price < limit))
        return this.ev({ type: "cancelled", id: o.id, qty: 0, left: 0, reason: R("MARKET_PRICE_BAND") });
      let q = Number(left / BigInt(m.price));
      q -= q % this.cfg.lotSize;
      if (q === 0) return;
      if (this.conflict(o, m)) {
        if (o.stp === "cancelOldest") {
          this.removeFromBook(m);
          this.ev({ type: "cancelled", id: m.id, qty: m.qty + m.hidden, left: 0, reason: R("STP_CANCEL_OLDEST") });
          continue;
        }
        if (o.stp !== "cancelNewest") {
          this.removeFromBook(m);
          this.ev({ type: "cancelled", id: m.id, qty: m.qty + m.hidden, left: 0, reason: R("STP_CANCEL_BOTH") });
        }
        const reason = o.stp === "cancelNewest" ? "STP_CANCEL_NEWEST" : "STP_CANCEL_BOTH";
        return this.ev({ type: "cancelled", id: o.id, qty: 0, left: 0, reason: R(reason) });
      }
      q = Math.min(q, m.qty);
      left -= BigInt(m.price) * BigInt(q);
      this.fill(m, o, q, 0);
    }
  }

  /** Trade q between maker m and taker o at m's price; handles maker exhaustion/refill. */
  private fill(m: RO, o: RO, q: number, takerLeft: number): void {
    m.qty -= q;
    this.last = m.price;
    this.ev({
      type: "trade",
      maker: m.id,
      taker: o.id,
      price: m.price,
      qty: q,
      side: o.side,
      makerOwner: m.owner,
      takerOwner: o.owner,
      makerLeft: m.qty + m.hidden,
      takerLeft,
    });
    if (m.qty === 0) {
      if (m.hidden > 0) {
        m.qty = Math.min(m.peak, m.hidden);
        m.hidden -= m.qty;
        m.t = ++this.clock;
        this.sortBooks();
      } else this.removeFromBook(m);
    }
  }

  private match(o: RO, limit: number | null): void {
    const opp = o.side === "buy" ? this.asks : this.bids;
    while (o.qty > 0 && opp.length > 0) {
      const m = opp[0];
      if (limit !== null && (o.side === "buy" ? m.price > limit : m.price < limit)) break;
      if (this.conflict(o, m)) {
        const mode = o.stp;
        if (mode === "decrement") {
          const mt = m.qty + m.hidden;
          const d = Math.min(o.qty, mt);
          o.qty -= d;
          this.ev({ type: "cancelled", id: o.id, qty: d, left: o.qty, reason: R("STP_DECREMENT") });
          if (d === mt) {
            this.removeFromBook(m);
            this.ev({ type: "cancelled", id: m.id, qty: d, left: 0, reason: R("STP_DECREMENT") });
          } else {
            const fromHidden = Math.min(d, m.hidden);
            m.hidden -= fromHidden;
            m.qty -= d - fromHidden;
            this.ev({ type: "cancelled", id: m.id, qty: d, left: mt - d, reason: R("STP_DECREMENT") });
          }
          continue;
        }
        if (mode === "cancelOldest" || mode === "cancelBoth") {
          this.removeFromBook(m);
          const r = mode === "cancelOldest" ? "STP_CANCEL_OLDEST" : "STP_CANCEL_BOTH";
          this.ev({ type: "cancelled", id: m.id, qty: m.qty + m.hidden, left: 0, reason: R(r) });
          if (mode === "cancelOldest") continue;
        }
        const r = mode === "cancelNewest" ? "STP_CANCEL_NEWEST" : "STP_CANCEL_BOTH";
        this.ev({ type: "cancelled", id: o.id, qty: o.qty, left: 0, reason: R(r) });
        o.qty = 0;
        break;
      }
      const q = Math.min(o.qty, m.qty);
      o.qty -= q;
      this.fill(m, o, q, o.qty);
    }
  }

  private runStops(): void {
    for (;;) {
      if (this.last === 0) return;
      const ready = this.stops
        .filter((s) => (s.side === "buy" ? this.last >= s.stopPrice : this.last <= s.stopPrice))
        .sort((a, b) => a.arrival - b.arrival);
      if (ready.length === 0) return;
      const s = ready[0];
      this.stops.splice(this.stops.indexOf(s), 1);
      this.ev({ type: "triggered", id: s.id, stopPrice: s.stopPrice, lastPrice: this.last });
      if (s.stopLimit) this.execLimit(s);
      else this.execMarket(s, null);
    }
  }

  l2(): { bids: [number, number][]; asks: [number, number][] } {
    const agg = (a: RO[]) => {
      const out: [number, number][] = [];
      for (const o of a) {
        if (out.length && out[out.length - 1][0] === o.price) out[out.length - 1][1] += o.qty;
        else out.push([o.price, o.qty]);
      }
      return out;
    };
    return { bids: agg(this.bids), asks: agg(this.asks) };
  }
}
