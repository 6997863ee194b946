import { EngineCode, MatchingEngine, type EngineEvent, type TopOfBook } from "../../../matching-engine/src/index.ts";
import { Ledger } from "../ledger/ledger.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { Market } from "../markets/types.ts";
import { catalogEntries, type Listing } from "../listing/listing.ts";
import { SenError } from "../errors/SenError.ts";
import { TradingCode } from "./codes.ts";
import type { TradingCoreSnapshot } from "./coreSnapshot.ts";
import type { TradingEvent, TradingListener, OrderChange } from "./events.ts";
import { FillHistory } from "./fillHistory.ts";
import { Funding } from "./funding.ts";
import { OrderStore } from "./orderStore.ts";
import { isWaitingStop, orderFromRecord, type Deposit, type FailedSettlement, type Fill, type Order, type SettlementTrade, type Withdrawal } from "../records/orders.ts";
import type { AmendRecord, CancelAllRecord, CustodyDebitRecord, PlaceRecord, TradingRecord } from "../records/tradingRecords.ts";
import { applyFundsRecord, type FundsScope } from "./fundsRecords.ts";
import { chargeFee, engineCommand, fundsScaleOf, holdOf, sellerTaxOf, type HoldTerms } from "./orderTerms.ts";
import { SettlementBook } from "./settlementBook.ts";
import { StopBook } from "./stopBook.ts";
import { TradingHalts, type MarketState, type VolatilityRule } from "./tradingHalts.ts";
import { indexedWaitingStops, type WaitingStopsFactory } from "./waitingStops.ts";

const NO_TOP: Readonly<TopOfBook> = Object.freeze({ bid: 0, bidQty: 0, ask: 0, askQty: 0, seq: 0 });

export type ApplyResult = { ok: true; order?: Readonly<Order> } | { ok: false; code: string; order?: Readonly<Order> };

export type { VolatilityRule } from "./tradingHalts.ts";

export type TradingCoreOptions = {
  catalog: MarketCatalog;
  /** Account credited with every fee. */
  feeAccount: string;
  /** Account credited with the tax withheld from sales (default `sen:tax`). */
  taxAccount?: string;
  /** Halt a symbol when a trade moves the price more than bandBps from the oldest trade in the window. */
  volatility?: VolatilityRule;
  /** Fills kept per account for /api/v1/fills (older ones live in the audit log). */
  fillsPerAccount?: number;
  /**
   * How long a finished order stays queryable through the trading API (KuCoin's order list
   * covers the last 7 days); older ones live in the audit trail. Measured in record time, so
   * live apply and replay drop the same orders at the same record. Default 7 days.
   */
  orderRetentionMs?: number;
  /** How each symbol's waiting stops are kept (tests check the index against a plain scan). */
  waitingStops?: WaitingStopsFactory;
};

export const DEFAULT_ORDER_RETENTION_MS = 7 * 24 * 3_600_000;

export type { TradingCoreSnapshot } from "./coreSnapshot.ts";

/**
 * The deterministic heart of the gateway: applies journaled records to the matching engine,
 * the ledger and the order store, and reports what happened as TradingEvents. It never reads
 * a clock, a random source or the network, so replaying the journal rebuilds it exactly.
 * Pre-trade checks happen before a record is made (risk/), not here.
 *
 * What it keeps lives in parts, each with its own maps and its own share of the snapshot:
 * orders (OrderStore), waiting stops (StopBook), fills (FillHistory), trades on their way to
 * the chain (SettlementBook), halts and freezes (TradingHalts), deposits and withdrawals
 * (Funding). The core runs `apply` across them: the order of changes and events is decided
 * here, in one place, because a replay must repeat it exactly. What it runs itself is the order
 * lifecycle (placement, stops, amendments, cancels, trades, fills, custody debits that cancel
 * orders); records that move money without an order go to fundsRecords.ts, and an order's
 * terms (its hold, its fee, its engine command) come from orderTerms.ts.
 */
export class TradingCore {
  readonly catalog: MarketCatalog;
  readonly feeAccount: string;
  readonly taxAccount: string;
  #taxRateBps = 0;
  #engine: MatchingEngine;
  #ledger: Ledger;
  readonly #store: OrderStore;
  /** The store's map of orders, read on every engine event without going through the store. */
  readonly #orders: Map<string, Order>;
  readonly #fills: FillHistory;
  readonly #funding = new Funding();
  readonly #stops: StopBook;
  readonly #halts: TradingHalts;
  readonly #settlements = new SettlementBook();
  readonly #listings = new Map<string, Listing>();
  readonly #listeners: TradingListener[] = [];
  #tradeCounter = 0;

  // Per-apply scratch, reset by #begin.
  #ts = 0;
  /**
   * Orders the current record touched, first touch first, in reused slots up to #touchedCount
   * (a repeat is harmless: finishing an order a second time finds it done). A Set cleared per
   * record allocated a new hash table on the sequencer's thread for every record.
   */
  #touched: string[] = [];
  #touchedCount = 0;
  #pending: TradingEvent[] = [];
  readonly #sink = (e: Readonly<EngineEvent>) => this.#onEngineEvent(e);
  readonly #bestAsk = (symbol: string) => this.bestPrices(symbol).ask;
  /** The parts and outlets the records that move money without an order are applied with (fundsRecords.ts). */
  readonly #funds: FundsScope;

  constructor(options: TradingCoreOptions) {
    this.catalog = options.catalog;
    this.feeAccount = options.feeAccount;
    this.taxAccount = options.taxAccount ?? "sen:tax";
    this.#halts = new TradingHalts(options.catalog.markets.keys(), options.volatility);
    this.#fills = new FillHistory(options.fillsPerAccount ?? 10_000);
    this.#store = new OrderStore(options.orderRetentionMs ?? DEFAULT_ORDER_RETENTION_MS);
    this.#orders = this.#store.byId;
    this.#stops = new StopBook(options.waitingStops ?? indexedWaitingStops);
    this.#engine = new MatchingEngine({ symbols: [...options.catalog.markets.values()].map((m) => options.catalog.engineConfig(m)), l2: true });
    this.#ledger = new Ledger();
    const core = this;
    this.#funds = {
      catalog: this.catalog,
      house: this,
      get ledger() {
        return core.#ledger;
      },
      funding: this.#funding,
      settlements: this.#settlements,
      fills: this.#fills,
      get ts() {
        return core.#ts;
      },
      emit: (e) => this.#pending.push(e),
      balanceChanged: (accountId, currency, relationEvent) => this.#balanceChanged(accountId, currency, relationEvent),
    };
  }

  subscribe(listener: TradingListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  // ------------------------------------------------------------------ reads

  get ledger(): Ledger {
    return this.#ledger;
  }

  order(orderId: string): Readonly<Order> | undefined {
    return this.#orders.get(orderId);
  }

  orderByClientOid(accountId: string, clientOid: string): Readonly<Order> | undefined {
    return this.#store.byClientOid(accountId, clientOid);
  }

  orders(): IterableIterator<Readonly<Order>> {
    return this.#orders.values();
  }

  /** An account's retained orders (open, and finished within the retention), newest first. */
  accountOrders(accountId: string): Readonly<Order>[] {
    return this.#store.accountOrders(accountId);
  }

  openOrderIds(accountId: string): ReadonlySet<string> {
    return this.#store.openIds(accountId);
  }

  fills(accountId: string): readonly Fill[] {
    return this.#fills.list(accountId);
  }

  isFrozen(accountId: string): string | undefined {
    return this.#halts.isFrozen(accountId);
  }

  /** Every frozen account with the reason it was frozen for (operator console). */
  frozenAccounts(): ReadonlyMap<string, string> {
    return this.#halts.frozenAccounts();
  }

  marketState(symbol: string): Readonly<MarketState> | undefined {
    return this.#halts.market(symbol);
  }

  /** Whether new orders are refused on `symbol` at time `now` (a volatility halt lapses by itself). */
  isHalted(symbol: string, now: number): boolean {
    return this.#halts.isHalted(symbol, now);
  }

  /** The book's best bid and ask (0 for an empty side or an unknown symbol), as the engine holds them now. */
  bestPrices(symbol: string): Readonly<TopOfBook> {
    return this.#engine.top(symbol) ?? NO_TOP;
  }

  l2(symbol: string, depth?: number) {
    return this.#engine.l2(symbol, depth);
  }

  unsettledCount(): number {
    return this.#settlements.unsettledCount;
  }

  failedSettlements(): IterableIterator<Readonly<FailedSettlement>> {
    return this.#settlements.allFailed();
  }

  failedSettlement(tradeId: string): Readonly<FailedSettlement> | undefined {
    return this.#settlements.failed(tradeId);
  }

  /**
   * The account that no longer has available what a failed trade gave it (so the trade cannot
   * be reversed yet), or undefined when the reversal can go through.
   */
  reversalShortOf(tradeId: string): string | undefined {
    const f = this.#settlements.failed(tradeId);
    if (!f) return undefined;
    return this.#settlements.reversalShortOf(f, this.catalog.market(f.symbol)!, this.#ledger, this);
  }

  /** The listing of a market added through the listing flow (markets of the static catalog have none). */
  listing(symbol: string): Readonly<Listing> | undefined {
    return this.#listings.get(symbol);
  }

  listings(): IterableIterator<Readonly<Listing>> {
    return this.#listings.values();
  }

  /** Basis points of each sale's value withheld as personal income tax (see TaxPolicyRecord). */
  get taxRateBps(): number {
    return this.#taxRateBps;
  }

  /** Retained orders plus trades waiting for settlement: the records a snapshot writes out one by one, however few changed. */
  get retainedRecordCount(): number {
    return this.#orders.size + this.#settlements.unsettledCount;
  }

  /** Trades made so far; trade n has id n in hex, so ids and this count only ever grow. */
  get tradeCount(): number {
    return this.#tradeCounter;
  }

  unsettledTrades(): IterableIterator<Readonly<SettlementTrade>> {
    return this.#settlements.unsettled();
  }

  withdrawal(withdrawalId: string): Readonly<Withdrawal> | undefined {
    return this.#funding.withdrawal(withdrawalId);
  }

  withdrawals(): IterableIterator<Readonly<Withdrawal>> {
    return this.#funding.withdrawals();
  }

  nextOrderId(): string {
    return this.#store.nextOrderId();
  }

  depositApplied(ref: string): boolean {
    return this.#funding.applied(ref);
  }

  custodyDebitApplied(ref: string): boolean {
    return this.#funding.debitApplied(ref);
  }

  /** The account's credited deposits, oldest first. */
  deposits(accountId: string): readonly Readonly<Deposit>[] {
    return this.#funding.deposits(accountId);
  }

  /** The hold an order needs at acceptance (quote for buys, base for sells), or null if it cannot be priced (orderTerms.ts). */
  holdFor(r: HoldTerms): { currency: string; amount: bigint } | null {
    return holdOf(this.catalog, r, this.#bestAsk);
  }

  // ------------------------------------------------------------------ apply

  /**
   * Applies one journaled record. Deterministic: the same records in the same order always
   * give the same state and events. Events are delivered to listeners before it returns.
   */
  apply(record: TradingRecord): ApplyResult {
    this.#begin(record.ts);
    let result: ApplyResult;
    switch (record.t) {
      case "place":
        result = this.#place(record);
        break;
      case "cancel": {
        const o = this.#orders.get(record.orderId);
        if (!o || o.accountId !== record.accountId) {
          result = { ok: false, code: EngineCode.UNKNOWN_ORDER };
          break;
        }
        if (!o.isActive) {
          result = { ok: false, code: TradingCode.ORDER_NOT_ACTIVE, order: o };
          break;
        }
        if (isWaitingStop(o)) {
          this.#cancelStop(o, EngineCode.USER_CANCELLED);
          result = { ok: true, order: o };
          break;
        }
        const code = this.#engine.apply({ type: "cancel", id: o.orderId }, this.#sink);
        result = code === EngineCode.OK ? { ok: true, order: o } : { ok: false, code, order: o };
        break;
      }
      case "cancelAll":
        result = this.#cancelAll(record);
        break;
      case "amend":
        result = this.#amend(record);
        break;
      case "listing":
        result = this.#list(record.listing);
        break;
      case "taxPolicy": {
        const previousBps = this.#taxRateBps;
        this.#taxRateBps = record.rateBps;
        this.#pending.push({ kind: "taxPolicy", rateBps: record.rateBps, previousBps, source: record.source, by: record.by, ts: this.#ts });
        result = { ok: true };
        break;
      }
      case "marketStatus": {
        if (!this.#halts.setStatus(record.symbol, record.halted, record.reason, record.until)) {
          result = { ok: false, code: EngineCode.UNKNOWN_SYMBOL };
          break;
        }
        this.#pending.push({ kind: "marketStatus", symbol: record.symbol, halted: record.halted, reason: record.reason, ts: this.#ts });
        result = { ok: true };
        break;
      }
      case "accountStatus": {
        this.#halts.setFrozen(record.accountId, record.frozen, record.reason);
        this.#pending.push({ kind: "accountStatus", accountId: record.accountId, frozen: record.frozen, reason: record.reason, ts: this.#ts });
        if (record.frozen) this.#cancelAll({ t: "cancelAll", ts: record.ts, accountId: record.accountId, reason: "killSwitch" });
        result = { ok: true };
        break;
      }
      case "custodyDebit":
        result = this.#debitCustody(record);
        break;
      case "deposit":
      case "withdrawRequest":
      case "withdrawDone":
      case "withdrawFailed":
      case "settled":
      case "settleFailed":
      case "settleResolve":
        result = applyFundsRecord(this.#funds, record);
        break;
      default:
        // Records for other parts of the gateway (e.g. risk limits) change nothing here.
        result = { ok: true };
    }
    this.#runStops();
    this.#finishTouched();
    this.#flushEvents();
    // Forgets finished orders older than the retention (the audit trail keeps them).
    this.#store.dropExpired(this.#ts);
    return result;
  }

  /**
   * Custody the vault no longer books leaves the ledger too, so the account cannot sell or
   * withdraw what the vault would refuse to deliver. Available goes first; if it is short, the
   * account's open orders holding the currency are cancelled, newest first (waiting stops too),
   * until their holds cover the rest. A pending withdrawal's hold is left alone: the vault will
   * refuse that payout (or pay what it still can) and the outcome moves the hold. What is still
   * missing is owed (see Ledger): the account had given it to trades not yet settled, which the
   * vault will now refuse; whatever the account is credited next pays it off first, and the
   * event names it for the operator. Never refused for lack of funds: the chain has already moved.
   */
  #debitCustody(r: CustodyDebitRecord): ApplyResult {
    const amount = BigInt(r.amount);
    if (amount <= 0n) return { ok: false, code: TradingCode.BAD_AMOUNT };
    if (this.#funding.debitApplied(r.ref)) return { ok: false, code: TradingCode.CUSTODY_DEBIT_DUPLICATE };
    const cancelled: string[] = [];
    let short = amount - this.#ledger.balance(r.accountId, r.currency).available;
    if (short > 0n) {
      for (const o of this.#store.accountOrders(r.accountId)) {
        if (short <= 0n) break;
        if (!o.isActive || o.holdCurrency !== r.currency || o.holdRemaining === 0n) continue;
        short -= o.holdRemaining;
        cancelled.push(o.orderId);
        if (isWaitingStop(o)) this.#cancelStop(o, TradingCode.CUSTODY_DEBITED);
        else {
          this.#touch(o.orderId);
          this.#engine.apply({ type: "cancel", id: o.orderId }, this.#sink);
          o.doneReason = TradingCode.CUSTODY_DEBITED;
        }
      }
      // Their holds must be available before the debit: end them now, not after this record.
      this.#finishTouched();
      this.#touchedCount = 0;
    }
    const owed = this.#funding.debit(r, this.#ledger)!;
    this.#balanceChanged(r.accountId, r.currency, "custody.debited");
    this.#pending.push({ kind: "custodyDebited", debit: r, cancelled, owed, ts: this.#ts });
    return { ok: true };
  }

  #list(l: Listing): ApplyResult {
    if (this.#listings.has(l.symbol)) return { ok: false, code: TradingCode.LISTING_REFUSED };
    const { currency, market } = catalogEntries(l);
    // The catalog is shared with the rest of the gateway (and with cores rebuilding past books),
    // so a market it already has from this same listing is taken as it is.
    if (!this.catalog.market(l.symbol)) {
      try {
        this.catalog.add(currency, market);
      } catch {
        return { ok: false, code: TradingCode.LISTING_REFUSED };
      }
    }
    if (!this.#engine.symbols().includes(l.symbol)) this.#engine.addSymbol(this.catalog.engineConfig(this.catalog.market(l.symbol)!));
    this.#listings.set(l.symbol, l);
    // The offering price is the collar's reference until the first trade sets one.
    this.#halts.open(l.symbol, l.market.referencePrice ?? 0);
    this.#pending.push({ kind: "listed", listing: l, ts: this.#ts });
    return { ok: true };
  }

  #place(r: PlaceRecord): ApplyResult {
    // First: a journaled id is used, whatever becomes of its order, or the next order would reuse it.
    this.#store.sawOrderId(r.orderId);
    const market = this.catalog.market(r.symbol);
    if (!market) return { ok: false, code: EngineCode.UNKNOWN_SYMBOL };
    const listing = this.#listings.get(r.symbol);
    if (listing && r.ts < listing.offeringOpensAt) return { ok: false, code: TradingCode.OFFERING_NOT_OPEN };
    const hold = this.holdFor(r);
    if (!hold || !this.#ledger.hold(r.accountId, hold.currency, hold.amount)) {
      return { ok: false, code: "RISK_INSUFFICIENT_FUNDS" };
    }
    const order = orderFromRecord(r, hold.currency, hold.amount);
    this.#store.add(order);
    this.#balanceChanged(r.accountId, hold.currency, "trade.hold");
    if (r.stop) {
      // Waits in the core (holding its funds) until a trade reaches its stop price; one that the
      // last price already meets triggers before this apply ends.
      this.#stops.add(order);
      this.#orderEvent(order, "open");
      this.#stops.check(r.symbol);
      return { ok: true, order };
    }
    this.#touch(order.orderId);
    const code = this.#engine.apply(engineCommand(order, fundsScaleOf(this.catalog, order)), this.#sink);
    if (code !== EngineCode.OK) {
      order.isActive = false;
      order.doneReason = code;
      return { ok: false, code, order };
    }
    return { ok: true, order };
  }

  #cancelAll(r: CancelAllRecord): ApplyResult {
    if (r.scope !== "stops") this.#engine.apply({ type: "cancelAll", owner: r.accountId, symbol: r.symbol, ts: r.ts }, this.#sink);
    if (r.scope !== "orders") {
      for (const id of [...this.openOrderIds(r.accountId)]) {
        const o = this.#orders.get(id)!;
        if (isWaitingStop(o) && (r.symbol === undefined || o.symbol === r.symbol)) this.#cancelStop(o, EngineCode.CANCEL_ALL);
      }
    }
    return { ok: true };
  }

  /** A waiting stop leaves the core's list; #finishTouched ends it and releases its hold. */
  #cancelStop(o: Order, reason: string): void {
    this.#stops.remove(o);
    o.cancelExist = true;
    o.doneReason = reason;
    this.#touch(o.orderId);
  }

  /**
   * Triggers waiting stops whose condition the last price meets, earliest accepted first, each
   * placed as an ordinary order; the trades it makes may trigger more. Not while the market is
   * halted: they wait for the next trade after it resumes.
   */
  #runStops(): void {
    for (let symbol = this.#stops.nextToCheck(); symbol !== undefined; symbol = this.#stops.nextToCheck()) {
      const waiting = this.#stops.waiting(symbol);
      while (waiting && waiting.size > 0) {
        const last = this.#halts.lastPrice(symbol);
        if (last === 0 || this.#halts.isHalted(symbol, this.#ts)) break;
        const next = waiting.next(last);
        if (next === undefined) break;
        waiting.delete(next);
        this.#trigger(this.#orders.get(next)!);
      }
    }
  }

  #trigger(o: Order): void {
    o.stop!.triggered = true;
    o.stop!.triggeredAt = this.#ts;
    o.updatedAt = this.#ts;
    this.#touch(o.orderId);
    if (o.type === "market" && o.side === "buy" && o.funds === 0n) {
      // Held at the stop price when accepted; now it trades at the ask, within the band.
      const need = this.holdFor({ symbol: o.symbol, side: "buy", type: "market", size: o.size })!.amount;
      if (need > o.holdRemaining) {
        if (!this.#ledger.hold(o.accountId, o.holdCurrency, need - o.holdRemaining)) {
          // Reported as a trigger that failed (inactive), then rejected: its hold is released.
          o.isActive = false;
          o.doneReason = "RISK_INSUFFICIENT_FUNDS";
          this.#orderEvent(o, "triggered");
          return;
        }
        o.holdRemaining = need;
        this.#balanceChanged(o.accountId, o.holdCurrency, "trade.hold");
      }
    }
    this.#orderEvent(o, "triggered");
    const code = this.#engine.apply(engineCommand(o, fundsScaleOf(this.catalog, o)), this.#sink);
    if (code !== EngineCode.OK) {
      o.isActive = false;
      o.doneReason = code;
    }
  }

  /**
   * New price and/or total size for a live limit order. The hold follows the new order first
   * (a rise takes more from available, all or nothing), so the engine's re-entry may trade at
   * once; a refusal by the engine puts the hold back. Nothing else changes on a refusal.
   */
  #amend(r: AmendRecord): ApplyResult {
    const o = this.#orders.get(r.orderId);
    if (!o || o.accountId !== r.accountId) return { ok: false, code: EngineCode.UNKNOWN_ORDER };
    if (!o.isActive) return { ok: false, code: TradingCode.ORDER_NOT_ACTIVE, order: o };
    if (o.type !== "limit" || isWaitingStop(o)) return { ok: false, code: EngineCode.NOT_AMENDABLE, order: o };
    const price = r.price ?? o.price;
    const open = (r.size ?? o.size) - o.dealSize;
    if (open <= 0) return { ok: false, code: EngineCode.INVALID_QTY, order: o };
    const need = this.holdFor({ symbol: o.symbol, side: o.side, type: "limit", price, size: open })!.amount;
    const change = need - o.holdRemaining;
    if (change > 0n && !this.#ledger.hold(o.accountId, o.holdCurrency, change)) return { ok: false, code: "RISK_INSUFFICIENT_FUNDS", order: o };
    if (change < 0n) this.#ledger.release(o.accountId, o.holdCurrency, -change);
    o.holdRemaining = need;
    this.#touch(o.orderId);
    const code = this.#engine.apply({ type: "amend", id: o.orderId, price: r.price, qty: open, ts: r.ts }, this.#sink);
    if (code !== EngineCode.OK) {
      // Undone within the same apply: what was released is still available, what was taken still held.
      if (change > 0n) this.#ledger.release(o.accountId, o.holdCurrency, change);
      else if (change < 0n) this.#ledger.hold(o.accountId, o.holdCurrency, -change);
      o.holdRemaining -= change;
      return { ok: false, code, order: o };
    }
    if (change !== 0n) this.#balanceChanged(o.accountId, o.holdCurrency, "trade.hold");
    return { ok: true, order: o };
  }

  // ------------------------------------------------------------------ engine events

  #onEngineEvent(e: Readonly<EngineEvent>): void {
    switch (e.type) {
      case "accepted": {
        const o = this.#orders.get(e.id);
        if (o) this.#orderEvent(o, "open");
        break;
      }
      case "trade":
        this.#onTrade(e.symbol, e.maker, e.taker, e.price, e.qty, e.side);
        break;
      case "cancelled": {
        const o = this.#orders.get(e.id);
        if (!o) break;
        this.#touch(o.orderId);
        if (e.left === 0) {
          o.cancelExist = true;
          o.doneReason = e.reason;
        } else if (o.type === "limit") this.#decrement(o, e.qty);
        break;
      }
      case "triggered": {
        const o = this.#orders.get(e.id);
        if (o?.stop) {
          o.stop.triggered = true;
          this.#orderEvent(o, "triggered");
        }
        break;
      }
      case "amended": {
        // Before any trade the re-entered order makes: the order's new terms, then its fills.
        const o = this.#orders.get(e.id);
        if (!o) break;
        o.price = e.price;
        o.size = o.dealSize + e.qty;
        o.updatedAt = this.#ts;
        this.#orderEvent(o, "update");
        break;
      }
      case "rejected":
        break;
      case "l2": {
        const m = this.catalog.market(e.symbol);
        if (m) this.#pending.push({ kind: "l2", symbol: e.symbol, side: e.side, price: e.price, size: e.qty, ts: this.#ts });
        break;
      }
    }
  }

  #onTrade(symbol: string, makerId: string, takerId: string, price: number, qty: number, takerSide: "buy" | "sell"): void {
    const market = this.catalog.market(symbol)!;
    const maker = this.#orders.get(makerId)!;
    const taker = this.#orders.get(takerId)!;
    const buyer = takerSide === "buy" ? taker : maker;
    const seller = takerSide === "buy" ? maker : taker;
    const notional = this.catalog.notional(market, price, qty);
    const buyerBps = buyer === taker ? market.takerFeeBps : market.makerFeeBps;
    const sellerBps = seller === taker ? market.takerFeeBps : market.makerFeeBps;
    const buyerFee = chargeFee(buyer, notional, buyerBps);
    const sellerFee = chargeFee(seller, notional, sellerBps);
    // Fees and tax together never exceed the proceeds.
    const sellerTax = sellerTaxOf(notional, this.#taxRateBps);

    // Cash: buyer's hold pays the seller (net of the seller's fee and tax), both fees and the tax.
    this.#ledger.transferFromHold(buyer.accountId, seller.accountId, market.quote, notional - sellerFee - sellerTax);
    this.#ledger.transferFromHold(buyer.accountId, this.feeAccount, market.quote, buyerFee + sellerFee);
    if (sellerTax !== 0n) this.#ledger.transferFromHold(buyer.accountId, this.taxAccount, market.quote, sellerTax);
    buyer.holdRemaining -= notional + buyerFee;
    // Asset: seller's hold delivers to the buyer.
    this.#ledger.transferFromHold(seller.accountId, buyer.accountId, market.base, BigInt(qty));
    seller.holdRemaining -= BigInt(qty);

    this.#filled(maker, qty, notional);
    this.#filled(taker, qty, notional);
    const tradeId = (++this.#tradeCounter).toString(16).padStart(24, "0");
    const sequence = this.#tradeCounter;
    this.#settlements.add({
      tradeId,
      symbol,
      sellerAccount: seller.accountId,
      buyerAccount: buyer.accountId,
      size: qty,
      funds: notional,
      sellerFee,
      buyerFee,
      sellerTax,
      createdAt: this.#ts,
    });
    this.#fill(tradeId, maker, taker, "maker", symbol, price, qty, notional, maker === buyer ? buyerFee : sellerFee, market.makerFeeBps, maker === seller ? sellerTax : 0n);
    this.#fill(tradeId, taker, maker, "taker", symbol, price, qty, notional, taker === buyer ? buyerFee : sellerFee, market.takerFeeBps, taker === seller ? sellerTax : 0n);
    this.#pending.push({ kind: "trade", symbol, tradeId, price, size: qty, side: takerSide, makerOrderId: makerId, takerOrderId: takerId, ts: this.#ts, sequence, funds: notional, sellerTax });
    this.#balanceChanged(buyer.accountId, market.quote, "trade.setted");
    this.#balanceChanged(buyer.accountId, market.base, "trade.setted");
    this.#balanceChanged(seller.accountId, market.quote, "trade.setted");
    this.#balanceChanged(seller.accountId, market.base, "trade.setted");
    this.#balanceChanged(this.feeAccount, market.quote, "trade.setted");
    if (sellerTax !== 0n) this.#balanceChanged(this.taxAccount, market.quote, "trade.setted");
    this.#afterTrade(symbol, price);
  }

  /** One side's share of a trade. */
  #filled(o: Order, qty: number, notional: bigint): void {
    o.dealSize += qty;
    o.dealFunds += notional;
    o.updatedAt = this.#ts;
    this.#touch(o.orderId);
  }

  /** One side's fill of trade `tradeId`: kept in the fill history and reported on its order. */
  #fill(tradeId: string, o: Order, counter: Order, liquidity: "maker" | "taker", symbol: string, price: number, qty: number, notional: bigint, fee: bigint, feeRate: number, tax: bigint): void {
    const fill: Fill = {
      tradeId,
      orderId: o.orderId,
      counterOrderId: counter.orderId,
      accountId: o.accountId,
      symbol,
      side: o.side,
      liquidity,
      price,
      size: qty,
      funds: notional,
      fee,
      feeRate,
      tax,
      createdAt: this.#ts,
      orderType: o.type,
    };
    this.#fills.add(fill);
    this.#orderEvent(o, "match", fill);
  }

  /**
   * An STP decrement (DC) took `qty` off a live limit order: it is now an order for that much
   * less, so it holds only what the smaller order would (a market order's rest is released when it ends).
   */
  #decrement(o: Order, qty: number): void {
    const hold = () => this.holdFor({ symbol: o.symbol, side: o.side, type: "limit", price: o.price, size: o.size })!.amount;
    const before = hold();
    o.size -= qty;
    const release = before - hold();
    o.updatedAt = this.#ts;
    if (release > 0n) {
      o.holdRemaining -= release;
      this.#ledger.release(o.accountId, o.holdCurrency, release);
      this.#balanceChanged(o.accountId, o.holdCurrency, "trade.hold");
    }
    this.#orderEvent(o, "update");
  }

  /** The new last price may trigger stops, and may halt the market (volatility rule). */
  #afterTrade(symbol: string, price: number): void {
    this.#stops.traded(symbol);
    const halt = this.#halts.traded(symbol, price, this.#ts);
    if (halt !== undefined) this.#pending.push({ kind: "marketStatus", symbol, halted: true, reason: halt, ts: this.#ts });
  }

  // ------------------------------------------------------------------ bookkeeping

  #begin(ts: number): void {
    this.#ts = ts;
    this.#touchedCount = 0;
  }

  #touch(orderId: string): void {
    const n = this.#touchedCount;
    if (n > 0 && this.#touched[n - 1] === orderId) return;
    this.#touched[n] = orderId;
    this.#touchedCount = n + 1;
  }

  /** Orders the engine no longer holds are done: release what is left of their hold. */
  #finishTouched(): void {
    const touched = this.#touched;
    const count = this.#touchedCount;
    for (let i = 0; i < count; i++) {
      const id = touched[i];
      const o = this.#orders.get(id)!;
      if (!o.isActive) continue;
      if (this.#engine.order(id) !== null) continue;
      o.isActive = false;
      o.updatedAt = this.#ts;
      if (o.holdRemaining > 0n) {
        this.#ledger.release(o.accountId, o.holdCurrency, o.holdRemaining);
        this.#balanceChanged(o.accountId, o.holdCurrency, "trade.hold");
        o.holdRemaining = 0n;
      }
      this.#store.ended(o);
      const filled = o.type === "market" ? !o.cancelExist : o.dealSize === o.size;
      this.#orderEvent(o, filled ? "filled" : "canceled");
    }
    // An order rejected by the engine never became live; it still had a hold.
    for (let i = 0; i < count; i++) {
      const o = this.#orders.get(touched[i])!;
      if (o.isActive || o.holdRemaining === 0n) continue;
      this.#ledger.release(o.accountId, o.holdCurrency, o.holdRemaining);
      this.#balanceChanged(o.accountId, o.holdCurrency, "trade.hold");
      o.holdRemaining = 0n;
      this.#store.ended(o);
      this.#orderEvent(o, "rejected");
    }
  }

  #orderEvent(o: Order, change: OrderChange, fill?: Fill): void {
    this.#pending.push({ kind: "order", change, order: { ...o, stop: o.stop ? { ...o.stop } : undefined }, fill, ts: this.#ts });
  }

  #balanceChanged(accountId: string, currency: string, relationEvent: string): void {
    const b = this.#ledger.balance(accountId, currency);
    this.#pending.push({ kind: "balance", accountId, currency, available: b.available, hold: b.hold, relationEvent, ts: this.#ts });
  }

  #flushEvents(): void {
    const events = this.#pending;
    this.#pending = [];
    for (const e of events) for (const l of this.#listeners) l(e);
  }

  // ------------------------------------------------------------------ snapshot

  /**
   * The whole state, captured synchronously. Incremental: an order or fill unchanged since the
   * previous capture is the same (read-only) snapshot object as then (see CaptureCache), and the
   * engine's capture is incremental too: conversion and allocation follow what changed, and each
   * retained record is still compared field by field once (about what converting it cost, without
   * the garbage). `{ full: true }` converts everything afresh (what the incremental path is tested against).
   */
  snapshot(opts: { full?: boolean } = {}): TradingCoreSnapshot {
    const full = opts.full === true;
    const funding = this.#funding.snapshot();
    const halts = this.#halts.snapshot();
    return {
      version: 1,
      engine: this.#engine.snapshot({ full }),
      ledger: this.#ledger.snapshot(),
      orders: this.#store.snapshotOrders(full),
      counters: { order: this.#store.orderCounter, trade: this.#tradeCounter },
      deposits: funding.deposits,
      frozen: halts.frozen,
      markets: halts.markets,
      fills: this.#fills.snapshot(full),
      unsettled: this.#settlements.snapshotUnsettled(full),
      withdrawals: funding.withdrawals,
      failedSettlements: this.#settlements.snapshotFailed(),
      finished: this.#store.snapshotFinished(),
      taxRateBps: this.#taxRateBps,
      listings: [...this.#listings.values()],
      depositHistory: funding.depositHistory,
      // Only once there is one: a snapshot without custody debits keeps the pinned format.
      ...(funding.custodyDebits.length > 0 ? { custodyDebits: funding.custodyDebits } : {}),
    };
  }

  /**
   * Makes up to `budget` snapshot forms of each kind (finished orders, fills, unsettled trades)
   * that still lack one while more than `keep` of the kind wait. Called once per live record, it
   * keeps the synchronous capture's work near `keep` forms of each: without it the capture made
   * every form since the last one, and as captures are spaced by the state's size (see
   * SnapshotSchedule), that stall grew with the state (about 190 ms at 100,000 retained orders).
   * The forms are the ones the capture would make; only when they are made moves. Returns how
   * many it made.
   */
  formAhead(keep: number, budget: number): number {
    return this.#store.formAhead(keep, budget) + this.#fills.formAhead(keep, budget) + this.#settlements.formAhead(keep, budget);
  }

  static restore(snapshot: TradingCoreSnapshot, options: TradingCoreOptions): TradingCore {
    if (snapshot.version !== 1) throw new SenError(TradingCode.SNAPSHOT_UNSUPPORTED, `unsupported trading snapshot version ${String(snapshot.version)}`);
    for (const l of snapshot.listings ?? []) {
      if (options.catalog.market(l.symbol)) continue;
      const { currency, market } = catalogEntries(l);
      options.catalog.add(currency, market);
    }
    const core = new TradingCore(options);
    for (const l of snapshot.listings ?? []) core.#listings.set(l.symbol, l);
    core.#engine = MatchingEngine.restore(snapshot.engine);
    core.#ledger = Ledger.restore(snapshot.ledger);
    core.#store.restore(snapshot);
    // Orders are snapshotted in placement order: the stops' trigger order is kept.
    core.#stops.rebuild(core.#orders.values());
    core.#tradeCounter = snapshot.counters.trade;
    core.#funding.restore(snapshot);
    core.#halts.restore(snapshot);
    core.#fills.restore(snapshot);
    core.#settlements.restore(snapshot);
    core.#taxRateBps = snapshot.taxRateBps ?? 0;
    return core;
  }
}

export type { Market };
