import type { AuditEvent } from "../../audit/auditEvent.ts";
import { isoMicros, parseIsoMicros } from "../../audit/auditEvent.ts";

/** One trader: an e-ID and one of its accounts (wallets). */
export type Trader = { identity: string; account: string };

export function trader(name: string, account = `${name}-acct`): Trader {
  return { identity: `id-${name}`, account };
}

type OpenOrder = { trader: Trader; symbol: string; side: "buy" | "sell"; price?: string; qty: string };

export type PlaceArgs = { trader: Trader; side: "buy" | "sell"; price?: string; qty: string; refPrice?: string; symbol?: string; orderType?: string };

/**
 * Builds realistic audit-event sequences for detector tests: gap-free `seq`, strictly
 * increasing `ts` (each event `stepMicros` after the previous one, plus explicit waits), and
 * the shapes the trading recorder writes (order.received without an orderId, order.accepted
 * with one, one order.filled per side of a trade, taker side first).
 */
export class Scenario {
  readonly events: AuditEvent[] = [];
  readonly symbol: string;
  private now: bigint;
  private readonly stepMicros: bigint;
  private nextOrder = 1;
  private nextTrade = 1;
  private readonly orders = new Map<string, OpenOrder>();

  constructor(opts: { start?: string; symbol?: string; stepMicros?: bigint; firstSeq?: number } = {}) {
    this.now = parseIsoMicros(opts.start ?? "2026-11-23T03:00:00.000000Z");
    this.symbol = opts.symbol ?? "VNM-VND";
    this.stepMicros = opts.stepMicros ?? 1000n;
    this.nextSeq = opts.firstSeq ?? 0;
  }

  private nextSeq: number;

  /** Epoch microseconds of the clock. */
  get clock(): bigint {
    return this.now;
  }

  wait(seconds: number): this {
    this.now += BigInt(Math.round(seconds * 1_000_000));
    return this;
  }

  /** Moves the clock to an absolute UTC time (must not go backwards). */
  at(iso: string): this {
    const t = parseIsoMicros(iso);
    if (t < this.now) throw new RangeError(`scenario clock cannot go back to ${iso}`);
    this.now = t;
    return this;
  }

  private emit(e: Omit<AuditEvent, "seq" | "id" | "ts">): AuditEvent {
    this.now += this.stepMicros;
    const seq = this.nextSeq++;
    const ev = { seq, id: `evt-${seq}`, ts: isoMicros(this.now), ...e } as AuditEvent;
    this.events.push(ev);
    return ev;
  }

  /** order.received then order.accepted; returns the order id. */
  place(a: PlaceArgs): string {
    const symbol = a.symbol ?? this.symbol;
    const orderId = `ord-${this.nextOrder++}`;
    const orderType = a.orderType ?? (a.price === undefined ? "market" : "limit");
    const common = { account: a.trader.account, identityHash: a.trader.identity, wallet: a.trader.account, clientOid: `c-${orderId}`, symbol, side: a.side, orderType, tif: "GTC" };
    this.emit({ type: "order.received", ...common, price: a.price, qty: a.qty, refPrice: a.refPrice });
    this.emit({ type: "order.accepted", ...common, orderId, price: a.price, qty: a.qty });
    this.orders.set(orderId, { trader: a.trader, symbol, side: a.side, price: a.price, qty: a.qty });
    return orderId;
  }

  /** Only the gateway's order.received (a message that never reached the book, e.g. for stuffing). */
  received(a: PlaceArgs): AuditEvent {
    return this.emit({ type: "order.received", account: a.trader.account, identityHash: a.trader.identity, wallet: a.trader.account, symbol: a.symbol ?? this.symbol, side: a.side, price: a.price, qty: a.qty, orderType: a.orderType ?? "limit", refPrice: a.refPrice });
  }

  /** order.amended: the order's new price and/or total size, as the trading recorder writes it. */
  amend(orderId: string, change: { price?: string; qty?: string }): AuditEvent {
    const o = this.orders.get(orderId);
    if (!o) throw new RangeError(`unknown order ${orderId}`);
    Object.assign(o, Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)));
    return this.emit({ type: "order.amended", account: o.trader.account, identityHash: o.trader.identity, wallet: o.trader.account, orderId, symbol: o.symbol, side: o.side, price: o.price, qty: o.qty });
  }

  /** order.rejected for an amendment the gateway refused (the order is unchanged). */
  amendRefused(orderId: string, change: { price?: string; qty?: string }, ruleId = "RISK_RATE_LIMIT_ACCOUNT"): AuditEvent {
    const o = this.orders.get(orderId);
    if (!o) throw new RangeError(`unknown order ${orderId}`);
    return this.emit({ type: "order.rejected", account: o.trader.account, identityHash: o.trader.identity, wallet: o.trader.account, orderId, symbol: o.symbol, side: o.side, price: change.price ?? o.price, qty: change.qty ?? o.qty, ruleId, reason: "amendment refused", detail: { amendment: true, newPrice: change.price, newSize: change.qty } });
  }

  cancel(orderId: string, reason = "user"): AuditEvent {
    const o = this.orders.get(orderId);
    if (!o) throw new RangeError(`unknown order ${orderId}`);
    this.orders.delete(orderId);
    return this.emit({ type: "order.cancelled", account: o.trader.account, identityHash: o.trader.identity, wallet: o.trader.account, orderId, symbol: o.symbol, side: o.side, qty: o.qty, reason });
  }

  /**
   * A trade: the maker's resting order (placed now unless `makerOrderId` is given) is hit by
   * the taker (an order placed now). Emits the orders' events, then the taker fill and the
   * maker fill. Returns both fill events.
   */
  trade(a: { taker: Trader; maker: Trader; side: "buy" | "sell"; price: string; qty: string; symbol?: string; makerOrderId?: string; refPrice?: string }): { taker: AuditEvent; maker: AuditEvent; tradeId: string } {
    const symbol = a.symbol ?? this.symbol;
    const makerSide = a.side === "buy" ? "sell" : "buy";
    const makerOrderId = a.makerOrderId ?? this.place({ trader: a.maker, side: makerSide, price: a.price, qty: a.qty, symbol, refPrice: a.refPrice });
    const takerOrderId = this.place({ trader: a.taker, side: a.side, price: a.price, qty: a.qty, symbol, refPrice: a.refPrice });
    return this.fill({ taker: a.taker, maker: a.maker, side: a.side, price: a.price, qty: a.qty, symbol, takerOrderId, makerOrderId });
  }

  /** Just the two order.filled events of a trade between existing orders. */
  fill(a: { taker: Trader; maker: Trader; side: "buy" | "sell"; price: string; qty: string; symbol?: string; takerOrderId: string; makerOrderId: string }): { taker: AuditEvent; maker: AuditEvent; tradeId: string } {
    const symbol = a.symbol ?? this.symbol;
    const tradeId = `trd-${this.nextTrade++}`;
    const common = { symbol, price: a.price, qty: a.qty, tradeId };
    const taker = this.emit({ type: "order.filled", ...common, account: a.taker.account, identityHash: a.taker.identity, wallet: a.taker.account, orderId: a.takerOrderId, side: a.side, liquidity: "taker", counterpartyAccount: a.maker.account, counterpartyIdentityHash: a.maker.identity, counterpartyOrderId: a.makerOrderId });
    const maker = this.emit({ type: "order.filled", ...common, account: a.maker.account, identityHash: a.maker.identity, wallet: a.maker.account, orderId: a.makerOrderId, side: a.side === "buy" ? "sell" : "buy", liquidity: "maker", counterpartyAccount: a.taker.account, counterpartyIdentityHash: a.taker.identity, counterpartyOrderId: a.takerOrderId });
    return { taker, maker, tradeId };
  }
}

/** Feeds all events to `onEvent` and collects the alerts. */
export function run<A>(events: readonly AuditEvent[], onEvent: (e: AuditEvent) => A[]): A[] {
  const out: A[] = [];
  for (const e of events) out.push(...onEvent(e));
  return out;
}
