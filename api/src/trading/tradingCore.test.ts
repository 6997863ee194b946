import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { defaultCatalog, MarketCatalog } from "../markets/marketCatalog.ts";
import type { TradingEvent } from "./events.ts";
import type { Order } from "../records/orders.ts";
import type { CustodyDebitRecord, KucoinStp, TradingRecord } from "../records/tradingRecords.ts";
import { TradingCore, type TradingCoreOptions } from "./tradingCore.ts";
import { formValue } from "../journal/jsonCodec.ts";

const FEES = "fees";
const TAX = "tax";
const options = (): TradingCoreOptions => ({ catalog: defaultCatalog(), feeAccount: FEES, taxAccount: TAX, volatility: { windowMs: 60_000, bandBps: 2_000, haltMs: 30_000 } });
const CATALOG = defaultCatalog();
const ACCOUNTS = ["a1", "a2", "a3", "a4", "a5"];
// One e-ID may hold several accounts (wallets): a1/a2 are one person, a3/a4 another.
const IDENTITY: Record<string, string> = { a1: "id-A", a2: "id-A", a3: "id-B", a4: "id-B", a5: "id-C" };
const SYMBOLS = ["GOLD-VND", "RIVER-VND"];
const CURRENCIES = ["VND", "GOLD", "RIVER"];
const T0 = 1_700_000_000_000;
const STEP_MS = 250;
const STP_REASONS = ["ENGINE_STP_CANCEL_NEWEST", "ENGINE_STP_CANCEL_OLDEST", "ENGINE_STP_CANCEL_BOTH", "ENGINE_STP_DECREMENT"];

const hexId = (n: number) => n.toString(16).padStart(24, "0");
const account = fc.constantFrom(...ACCOUNTS);
const symbol = fc.constantFrom(...SYMBOLS);
const currency = fc.constantFrom(...CURRENCIES);
const side = fc.constantFrom("buy" as const, "sell" as const);
const stp = fc.constantFrom<KucoinStp>("CN", "CO", "CB", "DC");
const sometimes = fc.constantFrom(false, false, false, true);
/** Scales a generated amount to the currency: VND is worth ~1/10,000 of a unit of either asset. */
const scaled = (ccy: string, n: number) => String(ccy === "VND" ? n * 10_000 : n);

const command = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      k: fc.constant("limit" as const),
      a: account,
      s: symbol,
      side,
      // Within ±3 ticks of one mid price, so buys and sells cross most of the time.
      ticks: fc.integer({ min: -3, max: 3 }),
      q: fc.integer({ min: 1, max: 40 }),
      tif: fc.constantFrom("GTC" as const, "GTC" as const, "GTC" as const, "IOC" as const, "FOK" as const),
      postOnly: fc.boolean(),
      peak: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined, freq: 4 }),
      stp,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("market" as const),
      a: account,
      s: symbol,
      side,
      q: fc.integer({ min: 1, max: 40 }),
      funds: fc.option(fc.integer({ min: 5_000, max: 400_000 }), { nil: undefined }),
      stp,
    }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("cancel" as const), n: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("cancelAll" as const), a: account, s: fc.option(symbol, { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("deposit" as const), a: account, c: currency, amt: fc.integer({ min: 1, max: 500 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("freeze" as const), a: account, forRecords: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("halt" as const), s: symbol, forRecords: fc.integer({ min: 1, max: 20 }) }) },
  // `all`: everything available, which leaves nothing for a reversal to take back.
  { weight: 2, arbitrary: fc.record({ k: fc.constant("withdraw" as const), a: account, c: currency, amt: fc.integer({ min: 1, max: 300 }), all: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("withdrawEnd" as const), n: fc.nat(), done: fc.boolean() }) },
  // `stray`: aim at a trade in the wrong state (or not made yet), which must be refused or ignored.
  { weight: 2, arbitrary: fc.record({ k: fc.constant("settle" as const), n: fc.nat(), len: fc.integer({ min: 1, max: 5 }), stray: sometimes }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("settleFail" as const), n: fc.nat(), stray: sometimes }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("resolve" as const), n: fc.nat(), action: fc.constantFrom("retry" as const, "reverse" as const), stray: sometimes }) },
  // Custody the token's agent takes from the vault: within available, beyond it (orders are
  // cancelled), beyond everything the account has here (owed), or an event read again.
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant("custodyDebit" as const), a: account, c: currency, how: fc.constantFrom("available" as const, "orders" as const, "owed" as const, "again" as const), amt: fc.integer({ min: 1, max: 300 }), n: fc.nat() }),
  },
);
type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

/** What every account starts with: enough for dozens of orders, not always for all of them. */
const funding = fc.array(fc.tuple(fc.integer({ min: 200, max: 5_000 }), fc.integer({ min: 20, max: 2_000 }), fc.integer({ min: 20, max: 2_000 })), {
  minLength: ACCOUNTS.length,
  maxLength: ACCOUNTS.length,
});

/**
 * Turns commands into records the way the service journals them: ids in order, cancels by the
 * order's owner, no orders from a frozen account or on a symbol an operator halted (a freeze
 * or halt is lifted again `forRecords` commands later). Like the batcher and the operator,
 * settlement records name trades the core holds at that point (a window of the unsettled
 * queue, a failed trade), so a shadow core follows the records.
 */
function toRecords(start: Array<[number, number, number]>, cmds: Command[], taxRates: number[] = []): TradingRecord[] {
  const out: TradingRecord[] = [];
  const shadow = new TradingCore(options());
  const emit = (r: TradingRecord) => {
    out.push(r);
    shadow.apply(r);
  };
  /** The n-th of the trades made so far (and the next two, not made yet) that is not in `waiting`. */
  const strayTrade = (n: number, waiting: Iterable<{ tradeId: string }>) => {
    const skip = new Set([...waiting].map((t) => t.tradeId));
    const ids = Array.from({ length: shadow.tradeCount + 2 }, (_, j) => hexId(j + 1)).filter((id) => !skip.has(id));
    return ids[n % ids.length];
  };
  let ts = T0;
  const next = () => (ts += STEP_MS);
  start.forEach((amounts, i) =>
    amounts.forEach((amt, j) => emit({ t: "deposit", ts: next(), accountId: ACCOUNTS[i], currency: CURRENCIES[j], amount: scaled(CURRENCIES[j], amt), ref: `fund-${i}-${j}` })),
  );
  const placed: Array<{ orderId: string; accountId: string }> = [];
  const withdrawals: string[] = [];
  const debits: CustodyDebitRecord[] = [];
  // The tax rate changes a few times along the stream (as a law change would): trades are taxed at the rate of their moment.
  const taxAt = new Map(taxRates.map((rate, k) => [Math.floor((k * cmds.length) / Math.max(1, taxRates.length)), rate]));
  const frozenUntil = new Map<string, number>(); // account -> command index of its unfreeze
  const haltedUntil = new Map<string, number>(); // symbol -> command index of its resumption
  cmds.forEach((c, i) => {
    const rate = taxAt.get(i);
    if (rate !== undefined) emit({ t: "taxPolicy", ts: next(), rateBps: rate, source: "test", by: "test" });
    for (const [a, until] of frozenUntil) {
      if (until > i) continue;
      frozenUntil.delete(a);
      emit({ t: "accountStatus", ts: next(), accountId: a, frozen: false, reason: "cleared" });
    }
    for (const [s, until] of haltedUntil) {
      if (until > i) continue;
      haltedUntil.delete(s);
      emit({ t: "marketStatus", ts: next(), symbol: s, halted: false, reason: "resumed", by: "operator" });
    }
    if (c.k === "limit" || c.k === "market") {
      if (frozenUntil.has(c.a) || haltedUntil.has(c.s)) return;
      const orderId = hexId(placed.length + 1);
      placed.push({ orderId, accountId: c.a });
      const common = { t: "place" as const, ts: next(), orderId, accountId: c.a, identityHash: IDENTITY[c.a], symbol: c.s, side: c.side, clientOid: `c${i}`, stp: c.stp };
      if (c.k === "limit") {
        const gtc = c.tif === "GTC";
        const visibleSize = gtc && c.peak !== undefined && c.peak < c.q ? c.peak : undefined;
        emit({ ...common, type: "limit", price: 10_000 + 100 * c.ticks, size: c.q, tif: c.tif, postOnly: c.postOnly && gtc && visibleSize === undefined, visibleSize });
      } else if (c.funds !== undefined && c.side === "buy") emit({ ...common, type: "market", funds: String(c.funds), tif: "GTC", postOnly: false });
      else emit({ ...common, type: "market", size: c.q, tif: "GTC", postOnly: false });
    } else if (c.k === "cancel") {
      if (placed.length === 0) return;
      // Mostly recent orders, which are the ones still likely to be open.
      const o = placed[placed.length - 1 - (c.n % Math.min(placed.length, 6))];
      emit({ t: "cancel", ts: next(), accountId: o.accountId, orderId: o.orderId });
    } else if (c.k === "cancelAll") emit({ t: "cancelAll", ts: next(), accountId: c.a, symbol: c.s, reason: "user" });
    else if (c.k === "deposit") emit({ t: "deposit", ts: next(), accountId: c.a, currency: c.c, amount: scaled(c.c, c.amt), ref: `dep-${i}` });
    else if (c.k === "freeze") {
      if (frozenUntil.has(c.a)) return;
      frozenUntil.set(c.a, i + c.forRecords);
      emit({ t: "accountStatus", ts: next(), accountId: c.a, frozen: true, reason: "compliance" });
    } else if (c.k === "halt") {
      if (haltedUntil.has(c.s)) return;
      haltedUntil.set(c.s, i + c.forRecords);
      emit({ t: "marketStatus", ts: next(), symbol: c.s, halted: true, reason: "operator", by: "operator" });
    } else if (c.k === "withdraw") {
      const withdrawalId = `w${i}`;
      const amount = c.all ? String(shadow.ledger.balance(c.a, c.c).available) : scaled(c.c, c.amt);
      if (amount === "0") return;
      withdrawals.push(withdrawalId);
      emit({ t: "withdrawRequest", ts: next(), withdrawalId, accountId: c.a, currency: c.c, amount });
    } else if (c.k === "withdrawEnd") {
      if (withdrawals.length === 0) return;
      const withdrawalId = withdrawals[withdrawals.length - 1 - (c.n % Math.min(withdrawals.length, 4))];
      emit(c.done ? { t: "withdrawDone", ts: next(), withdrawalId, txHash: `0xw${i}` } : { t: "withdrawFailed", ts: next(), withdrawalId, reason: "reverted" });
    } else if (c.k === "settle") {
      const queue = [...shadow.unsettledTrades()].map((t) => t.tradeId);
      const from = c.n % Math.max(queue.length, 1);
      const tradeIds = queue.slice(from, from + c.len);
      if (c.stray) tradeIds.push(strayTrade(c.n, shadow.unsettledTrades()));
      if (tradeIds.length > 0) emit({ t: "settled", ts: next(), tradeIds, txHash: `0xs${i}` });
    } else if (c.k === "custodyDebit") {
      if (c.how === "again") {
        if (debits.length > 0) emit({ ...debits[c.n % debits.length], ts: next() });
        return;
      }
      const b = shadow.ledger.balance(c.a, c.c);
      const n = BigInt(scaled(c.c, c.amt));
      const amount = c.how === "available" ? (b.available > 0n ? 1n + (n % b.available) : n) : c.how === "orders" ? b.available + 1n + (n % (b.hold > 0n ? b.hold : 1n)) : b.available + b.hold + n;
      const r: CustodyDebitRecord = { t: "custodyDebit", ts: next(), accountId: c.a, currency: c.c, amount: amount.toString(), ref: `vault:0xVault:0x${i.toString(16)}:${c.n % 3}`, kind: c.n % 2 === 0 ? "seized" : "returned", to: "0xcourt", txHash: `0x${i.toString(16)}` };
      debits.push(r);
      emit(r);
    } else if (c.k === "settleFail") {
      const queue = [...shadow.unsettledTrades()];
      if (queue.length === 0 && !c.stray) return;
      const tradeId = c.stray ? strayTrade(c.n, queue) : queue[c.n % queue.length].tradeId;
      emit({ t: "settleFailed", ts: next(), tradeId, reason: `ERC7943CannotReceive(${i})` });
    } else {
      const failed = [...shadow.failedSettlements()];
      if (failed.length === 0 && !c.stray) return;
      const tradeId = c.stray ? strayTrade(c.n, failed) : failed[c.n % failed.length].tradeId;
      emit({ t: "settleResolve", ts: next(), tradeId, action: c.action, by: "operator" });
    }
  });
  return out;
}

/** Funded accounts trading around one price: 15 funding deposits, then 50 to 300 commands. */
const taxRates = fc.array(fc.oneof(fc.constant(10), fc.integer({ min: 0, max: 1_000 })), { maxLength: 3, size: "max" });
const recordsArb = fc.tuple(funding, fc.array(command, { minLength: 50, maxLength: 300, size: "max" }), taxRates).map(([start, cmds, rates]) => toRecords(start, cmds, rates));

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
const key = (accountId: string, ccy: string) => `${accountId}/${ccy}`;

/**
 * Exact bookkeeping after every record: each account holds what its deposits, confirmed
 * withdrawals, custody debits and fills say it should (so each currency is conserved across
 * accounts and the fee account: value leaves only by a withdrawal or a custody debit), every
 * hold is explained by an open order or a pending withdrawal, an account owes only what it
 * has nothing available to pay and no order of it holds that currency, IOC and FOK never
 * rest, FOK fills all or nothing, and no book is crossed.
 */
function checkInvariants(core: TradingCore, expected: ReadonlyMap<string, bigint>, net: ReadonlyMap<string, bigint>): void {
  // The operator's list of debts is exactly the balances that owe.
  const owing = core.ledger.owing().map((o) => key(o.account, o.currency)).sort();
  const owingBalances = [...ACCOUNTS, FEES, TAX].flatMap((a) => CURRENCIES.filter((c) => core.ledger.balance(a, c).owed !== undefined).map((c) => key(a, c))).sort();
  assert.deepEqual(owing, owingBalances, "Ledger.owing() lists every balance that owes, and no other");
  for (const ccy of CURRENCIES) {
    assert.equal(core.ledger.total(ccy), net.get(ccy) ?? 0n, `conservation of ${ccy}`);
    for (const a of [...ACCOUNTS, FEES, TAX]) {
      const b = core.ledger.balance(a, ccy);
      assert.ok(b.available >= 0n && b.hold >= 0n, `${a} ${ccy} went negative`);
      const owed = b.owed ?? 0n;
      assert.ok(b.owed === undefined || (owed > 0n && b.available === 0n), `${a} ${ccy} owes ${b.owed} with ${b.available} available`);
      if (owed > 0n) assert.ok(!core.accountOrders(a).some((o) => o.isActive && o.holdCurrency === ccy && o.holdRemaining > 0n), `${a} owes ${ccy} while an order holds it`);
      assert.equal(b.available + b.hold - owed, expected.get(key(a, ccy)) ?? 0n, `${a} ${ccy} differs from its deposits, withdrawals, custody debits and fills`);
    }
  }
  const holds = new Map<string, bigint>();
  const addHold = (k: string, v: bigint) => holds.set(k, (holds.get(k) ?? 0n) + v);
  for (const o of core.orders()) {
    assert.ok(o.holdRemaining >= 0n, `order ${o.orderId} over-consumed its hold`);
    if (o.type === "limit") assert.ok(o.dealSize <= o.size);
    if (o.tif !== "GTC") assert.ok(!o.isActive, `${o.tif} order ${o.orderId} rests on the book`);
    if (o.tif === "FOK") assert.ok(o.dealSize === 0 || o.dealSize === o.size, `FOK order ${o.orderId} filled ${o.dealSize} of ${o.size}`);
    if (o.isActive) addHold(key(o.accountId, o.holdCurrency), o.holdRemaining);
    else assert.equal(o.holdRemaining, 0n, `finished order ${o.orderId} kept a hold`);
  }
  for (const w of core.withdrawals()) if (w.status === "PROCESSING") addHold(key(w.accountId, w.currency), w.amount);
  for (const a of [...ACCOUNTS, FEES, TAX]) {
    for (const ccy of CURRENCIES) assert.equal(core.ledger.balance(a, ccy).hold, holds.get(key(a, ccy)) ?? 0n, `hold of ${a} ${ccy}`);
  }
  for (const s of SYMBOLS) {
    const best = core.bestPrices(s);
    if (best.bid && best.ask) assert.ok(best.bid < best.ask, `${s} crossed`);
  }
}

/** A trade as its two fills tell it, and where its settlement stands by the records applied so far. */
type TradeModel = {
  symbol: string;
  seller: string;
  buyer: string;
  funds: bigint;
  sellerFee: bigint;
  buyerFee: bigint;
  sellerTax: bigint;
  size: bigint;
  status: "unsettled" | "settled" | "failed" | "reversed";
  reason?: string;
  failedAt?: number;
  txHash?: string;
  retried: boolean;
};

/** What each account/currency is worth (available less what it owes: a credit pays the debt first) and holds. */
function balancesOf(core: TradingCore): Map<string, { worth: bigint; hold: bigint }> {
  const out = new Map<string, { worth: bigint; hold: bigint }>();
  for (const a of [...ACCOUNTS, FEES, TAX]) {
    for (const ccy of CURRENCIES) {
      const b = core.ledger.balance(a, ccy);
      out.set(key(a, ccy), { worth: b.available - (b.owed ?? 0n), hold: b.hold });
    }
  }
  return out;
}

/**
 * The core's settlement queue and failed list hold exactly the model's unsettled and failed
 * trades (so a failed trade is never queued, a retried one is, a settled or reversed one never
 * comes back), a failed one as it was traded, and the fills of the `touched` trades say so.
 */
function checkSettlementStates(core: TradingCore, trades: ReadonlyMap<string, TradeModel>, touched: Iterable<string>): void {
  const queued = new Set([...core.unsettledTrades()].map((t) => t.tradeId));
  const failed = new Map([...core.failedSettlements()].map((t) => [t.tradeId, t]));
  for (const [id, t] of trades) {
    assert.equal(queued.has(id), t.status === "unsettled", `trade ${id} is ${t.status}: queued ${queued.has(id)}`);
    assert.equal(failed.has(id), t.status === "failed", `trade ${id} is ${t.status}: failed ${failed.has(id)}`);
    const f = failed.get(id);
    if (f) {
      assert.deepEqual(
        [f.sellerAccount, f.buyerAccount, f.funds, f.sellerFee, f.buyerFee, f.sellerTax, BigInt(f.size), f.reason, f.failedAt],
        [t.seller, t.buyer, t.funds, t.sellerFee, t.buyerFee, t.sellerTax, t.size, t.reason, t.failedAt],
        `failed trade ${id}`,
      );
    }
  }
  assert.equal(queued.size + failed.size, [...trades.values()].filter((t) => t.status === "unsettled" || t.status === "failed").length, "the core waits on trades that never happened");
  for (const id of touched) {
    const t = trades.get(id);
    if (!t) continue;
    const status = t.status === "failed" || t.status === "reversed" ? t.status : undefined;
    for (const a of [t.seller, t.buyer]) {
      const fill = core.fills(a).findLast((f) => f.tradeId === id)!;
      assert.deepEqual(
        { status: fill.settlementStatus, error: fill.settlementError, tx: fill.settlementTxHash },
        { status, error: status && t.reason, tx: t.txHash },
        `${a}'s fill of trade ${id} (${t.status})`,
      );
    }
  }
}

/** JSON that keeps bigints apart from numbers, for comparing events and results. */
const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x));

describe("TradingCore", () => {
  it("conserves every currency exactly, charges each fee once rounded up, explains every hold and never crosses, also across failed, retried and reversed settlements (property)", () => {
    const seen = {
      longestStream: 0,
      trades: 0,
      fees: 0n,
      taxed: 0,
      taxRateChangedAfterTrades: 0,
      cancels: 0,
      refusedForFunds: 0,
      withdrawn: 0,
      withdrawFailed: 0,
      settled: 0,
      frozen: 0,
      settleFailed: 0,
      failRefusedNotPending: 0,
      retried: 0,
      settledAfterRetry: 0,
      reversed: 0,
      reverseRefusedForBalance: 0,
      resolveRefusedNotFailed: 0,
      custodyDebited: 0,
      custodyDebitCancelledOrders: 0,
      custodyDebitOwed: 0,
      owedPaidOff: 0,
      custodyDebitDuplicate: 0,
    };
    fc.assert(
      fc.property(recordsArb, (records) => {
        const core = new TradingCore(options());
        const expected = new Map<string, bigint>(); // account/currency -> what it must hold
        const net = new Map<string, bigint>(); // currency -> deposited - withdrawn, from the records alone
        const add = (m: Map<string, bigint>, k: string, v: bigint) => m.set(k, (m.get(k) ?? 0n) + v);
        const feeByOrder = new Map<string, { basis: bigint; fee: bigint }>();
        const trades = new Map<string, TradeModel>(); // built from the fills alone
        const debited = new Set<string>(); // custody debit references applied so far
        const last: { debit?: Extract<TradingEvent, { kind: "custodyDebited" }> } = {}; // the record's custody debit event
        // Read through a call: tsc would keep `last.debit` narrowed to the undefined set before apply.
        const debitEvent = () => last.debit;
        const totalOwed = () => [...ACCOUNTS, FEES, TAX].reduce((sum, a) => CURRENCIES.reduce((s2, ccy) => s2 + (core.ledger.balance(a, ccy).owed ?? 0n), sum), 0n);
        let events = 0;
        core.subscribe((e) => {
          events++;
          if (e.kind === "custodyDebited") last.debit = e;
          if (e.kind === "trade") seen.trades++;
          else if (e.kind === "order" && e.fill) {
            const f = e.fill;
            const m = CATALOG.market(f.symbol)!;
            assert.equal(f.funds, BigInt(f.price) * BigInt(f.size), "notional of the fill");
            assert.equal(f.feeRate, f.liquidity === "maker" ? m.makerFeeBps : m.takerFeeBps);
            if (e.order.postOnly) assert.equal(f.liquidity, "maker", `post-only order ${f.orderId} took liquidity`);
            const sign = f.side === "buy" ? 1n : -1n;
            add(expected, key(f.accountId, m.quote), -sign * f.funds - f.fee - f.tax);
            add(expected, key(TAX, m.quote), f.tax);
            // The tax is the rate in force times the sale value, rounded down per trade, on the seller only.
            assert.equal(f.tax, f.side === "sell" ? (f.funds * BigInt(core.taxRateBps)) / 10_000n : 0n, `tax on ${f.side} fill of ${f.tradeId}`);
            seen.taxed += f.tax > 0n ? 1 : 0;
            add(expected, key(f.accountId, m.base), sign * BigInt(f.size));
            add(expected, key(FEES, m.quote), f.fee);
            // The fee is charged on the order's running notional, rounded up once: never more, never less.
            const acc = feeByOrder.get(f.orderId) ?? { basis: 0n, fee: 0n };
            feeByOrder.set(f.orderId, acc);
            acc.basis += f.funds * BigInt(f.feeRate);
            acc.fee += f.fee;
            assert.equal(acc.fee, ceilDiv(acc.basis, 10_000n), `fees of order ${f.orderId}`);
            seen.fees += f.fee;
            const t = trades.get(f.tradeId) ?? { symbol: f.symbol, seller: "", buyer: "", funds: f.funds, sellerFee: 0n, buyerFee: 0n, sellerTax: 0n, size: BigInt(f.size), status: "unsettled", retried: false };
            trades.set(f.tradeId, t);
            if (f.side === "sell") [t.seller, t.sellerFee, t.sellerTax] = [f.accountId, f.fee, f.tax];
            else [t.buyer, t.buyerFee] = [f.accountId, f.fee];
          } else if (e.kind === "withdrawal" && e.withdrawal.status === "SUCCESS") {
            add(expected, key(e.withdrawal.accountId, e.withdrawal.currency), -e.withdrawal.amount);
          }
        });
        for (const r of records) {
          const unsettled = core.unsettledCount();
          // What a settlement record must do, from the model alone: a refusal (and its code) or the balance moves.
          const target = r.t === "settleFailed" || r.t === "settleResolve" ? trades.get(r.tradeId) : undefined;
          let refusal: string | undefined;
          let moves: Map<string, bigint> | undefined; // account/currency -> change of available
          if (r.t === "settleFailed" && target?.status !== "unsettled") refusal = "SETTLEMENT_NOT_PENDING";
          else if (r.t === "settleResolve" && target?.status !== "failed") refusal = "SETTLEMENT_NOT_FAILED";
          else if (r.t === "settleResolve" && r.action === "reverse") {
            const t = target!;
            const { base, quote } = CATALOG.market(t.symbol)!;
            const gives: Array<[string, string, bigint]> = [
              [t.seller, quote, t.funds - t.sellerFee - t.sellerTax],
              [FEES, quote, t.buyerFee + t.sellerFee],
              [TAX, quote, t.sellerTax],
              [t.buyer, base, t.size],
            ];
            const short = gives.filter(([a, ccy, amount]) => core.ledger.balance(a, ccy).available < amount).map(([a]) => a);
            const named = core.reversalShortOf(r.tradeId);
            if (short.length > 0) {
              assert.ok(named !== undefined && short.includes(named), `reversalShortOf named ${named}, short: ${short.join(",")}`);
              refusal = "SETTLEMENT_REVERSE_INSUFFICIENT";
            } else {
              assert.equal(named, undefined, "reversalShortOf named a side that has what it gives back");
              moves = new Map([
                [key(t.seller, quote), -(t.funds - t.sellerFee - t.sellerTax)],
                [key(t.seller, base), t.size],
                [key(t.buyer, quote), t.funds + t.buyerFee],
                [key(t.buyer, base), -t.size],
                [key(FEES, quote), -(t.buyerFee + t.sellerFee)],
                [key(TAX, quote), -t.sellerTax],
              ]);
            }
          } else if (r.t === "settleFailed" || r.t === "settleResolve") moves = new Map();
          // A custody debit, from the state before it: available first, then the account's orders
          // holding the currency, newest first, until their holds cover it; the rest is owed.
          let debit: { cancelled: string[]; owed: bigint; after: { available: bigint; hold: bigint; owed: bigint } } | undefined;
          if (r.t === "custodyDebit") {
            if (debited.has(r.ref)) refusal = "CUSTODY_DEBIT_DUPLICATE";
            else {
              const b = core.ledger.balance(r.accountId, r.currency);
              const amount = BigInt(r.amount);
              let short = amount - b.available;
              let released = 0n;
              const cancelled: string[] = [];
              for (const o of core.accountOrders(r.accountId)) {
                if (short <= 0n) break;
                if (!o.isActive || o.holdCurrency !== r.currency || o.holdRemaining === 0n) continue;
                cancelled.push(o.orderId);
                short -= o.holdRemaining;
                released += o.holdRemaining;
              }
              const owed = short > 0n ? short : 0n;
              const left = b.available + released - amount;
              debit = { cancelled, owed, after: { available: left > 0n ? left : 0n, hold: b.hold - released, owed: (b.owed ?? 0n) + owed } };
            }
          }
          const owedBefore = totalOwed();
          last.debit = undefined;
          const stateBefore = refusal === undefined ? "" : JSON.stringify(core.snapshot());
          const balancesBefore = moves === undefined ? undefined : balancesOf(core);
          events = 0;

          const result = core.apply(r);

          if (refusal !== undefined) {
            assert.deepEqual(result, { ok: false, code: refusal }, `${r.t} ${json(r)}`);
            assert.equal(JSON.stringify(core.snapshot()), stateBefore, `a refused ${r.t} changed the state`);
            assert.equal(events, 0, `a refused ${r.t} emitted events`);
            if (refusal === "SETTLEMENT_NOT_PENDING") seen.failRefusedNotPending++;
            else if (refusal === "SETTLEMENT_NOT_FAILED") seen.resolveRefusedNotFailed++;
            else if (refusal === "CUSTODY_DEBIT_DUPLICATE") seen.custodyDebitDuplicate++;
            else seen.reverseRefusedForBalance++;
          } else if (moves !== undefined) {
            assert.deepEqual(result, { ok: true }, `${r.t} ${json(r)}`);
            // Only a reversal moves money: exactly what the trade's fills moved, backwards, and only available (holds are untouched).
            const after = balancesOf(core);
            for (const [k, b] of balancesBefore!) {
              assert.deepEqual(after.get(k), { worth: b.worth + (moves.get(k) ?? 0n), hold: b.hold }, `${k} after ${json(r)}`);
            }
            for (const [k, v] of moves) add(expected, k, v);
            const t = target!;
            if (r.t === "settleFailed") {
              [t.status, t.reason, t.failedAt] = ["failed", r.reason, r.ts];
              seen.settleFailed++;
            } else if (r.t === "settleResolve" && r.action === "retry") {
              [t.status, t.retried] = ["unsettled", true];
              seen.retried++;
            } else {
              t.status = "reversed";
              seen.reversed++;
            }
          }
          if (debit !== undefined && r.t === "custodyDebit") {
            assert.deepEqual(result, { ok: true }, json(r));
            assert.deepEqual([debitEvent()?.debit.ref, debitEvent()?.cancelled, debitEvent()?.owed], [r.ref, debit.cancelled, debit.owed], `custody debit ${json(r)}`);
            for (const id of debit.cancelled) assert.deepEqual([core.order(id)?.isActive, core.order(id)?.doneReason], [false, "TRADING_CUSTODY_DEBITED"], `order ${id}`);
            const b = core.ledger.balance(r.accountId, r.currency);
            assert.deepEqual({ available: b.available, hold: b.hold, owed: b.owed ?? 0n }, debit.after, `${r.accountId} ${r.currency} after ${json(r)}`);
            add(expected, key(r.accountId, r.currency), -BigInt(r.amount));
            add(net, r.currency, -BigInt(r.amount));
            debited.add(r.ref);
            seen.custodyDebited++;
            if (debit.cancelled.length > 0) seen.custodyDebitCancelledOrders++;
            if (debit.owed > 0n) seen.custodyDebitOwed++;
          } else if (totalOwed() < owedBefore) seen.owedPaidOff++;
          if (r.t === "deposit") {
            assert.ok(result.ok);
            add(expected, key(r.accountId, r.currency), BigInt(r.amount));
            add(net, r.currency, BigInt(r.amount));
          } else if (r.t === "withdrawDone" && result.ok) {
            const w = core.withdrawal(r.withdrawalId)!;
            add(net, w.currency, -w.amount);
            seen.withdrawn++;
          } else if (r.t === "withdrawFailed" && result.ok) seen.withdrawFailed++;
          else if (r.t === "cancel" && result.ok) seen.cancels++;
          else if (r.t === "place" && !result.ok && result.code === "RISK_INSUFFICIENT_FUNDS") seen.refusedForFunds++;
          else if (r.t === "accountStatus" && r.frozen) seen.frozen++;
          else if (r.t === "taxPolicy" && core.tradeCount > 0) seen.taxRateChangedAfterTrades++;
          else if (r.t === "settled") {
            seen.settled += unsettled - core.unsettledCount();
            for (const id of r.tradeIds) {
              const t = trades.get(id);
              if (t?.status !== "unsettled") continue; // failed, reversed, settled or never made: ignored
              [t.status, t.txHash] = ["settled", r.txHash];
              if (t.retried) seen.settledAfterRetry++;
            }
          }
          checkInvariants(core, expected, net);
          checkSettlementStates(core, trades, r.t === "settled" ? r.tradeIds : r.t === "settleFailed" || r.t === "settleResolve" ? [r.tradeId] : []);
        }
        checkSettlementStates(core, trades, trades.keys());
        seen.longestStream = Math.max(seen.longestStream, records.length);
      }),
      { numRuns: 150 },
    );
    assert.ok(seen.longestStream >= 250, `the longest stream had ${seen.longestStream} records`);
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `the streams never exercised ${what}: ${json(seen)}`);
  });

  it("no account trades with another account of the same identity (e-ID self-trade prevention)", () => {
    const seen: Record<string, number> = { trades: 0, stpAcrossAccounts: 0 };
    for (const reason of STP_REASONS) seen[reason] = 0;
    fc.assert(
      fc.property(recordsArb, (records) => {
        const core = new TradingCore(options());
        let stopped: Array<Readonly<Order>> = [];
        core.subscribe((e) => {
          if (e.kind === "trade") {
            const maker = core.order(e.makerOrderId)!;
            const taker = core.order(e.takerOrderId)!;
            assert.notEqual(maker.identityHash, taker.identityHash, `trade ${e.tradeId}: ${maker.accountId} and ${taker.accountId} are one person`);
            seen.trades++;
          } else if (e.kind === "order" && e.change === "canceled" && STP_REASONS.includes(e.order.doneReason ?? "")) stopped.push(e.order);
        });
        for (const r of records) {
          // Resting orders of the same person this order would cross: what STP has to step in for.
          const conflicts =
            r.t === "place"
              ? [...core.orders()].filter(
                  (o) => o.isActive && o.symbol === r.symbol && o.side !== r.side && o.identityHash === r.identityHash && (r.type === "market" || (r.side === "buy" ? o.price <= r.price! : o.price >= r.price!)),
                )
              : [];
          stopped = [];
          core.apply(r);
          if (stopped.length === 0) continue;
          if (r.t !== "place") assert.fail(`a ${r.t} record set off STP: only a new order can meet its owner's orders`);
          assert.ok(conflicts.length > 0, "STP stopped an order that met no order of its owner");
          for (const o of stopped) {
            assert.equal(o.identityHash, r.identityHash, "STP cancelled someone else's order");
            seen[o.doneReason!]++;
          }
          // Only another account of the same person was in the way: account-level STP would have let it trade.
          if (conflicts.every((o) => o.accountId !== r.accountId)) seen.stpAcrossAccounts++;
        }
      }),
      { numRuns: 100 },
    );
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `the streams never exercised ${what}: ${json(seen)}`);
  });

  it("is deterministic: replay gives the same state, and snapshot + tail = never stopped, events included", () => {
    const seen = {
      restores: 0,
      restoredWithOpenOrders: 0,
      restoredWithUnsettled: 0,
      restoredWithFailedSettlements: 0,
      restoredInVolatilityWindow: 0,
      tradesAfterRestore: 0,
      failedTradesResolvedAfterRestore: 0,
      volatilityHalts: 0,
      ordersForgotten: 0,
      restoredOwing: 0,
      // A custody event read again after a restart (the chain watcher reads from its start block): refused as before.
      custodyDebitAgainAfterRestore: 0,
    };
    // A band the clustered prices (±3%) can break, so volatility halts and their windows cross the cuts.
    const tightBand = { windowMs: 10_000, bandBps: 300, haltMs: 5_000 };
    fc.assert(
      // Short retentions (records are 250 ms apart) make finished orders expire mid-stream.
      fc.property(recordsArb, fc.array(fc.nat(), { minLength: 1, maxLength: 3, size: "max" }), fc.constantFrom(undefined, 1_000, 5_000), fc.boolean(), (records, cutSeeds, orderRetentionMs, tight) => {
        const opts = () => ({ ...options(), orderRetentionMs, ...(tight ? { volatility: tightBand } : {}) });
        // What each record returned and emitted, in order.
        const run = (core: TradingCore, r: TradingRecord, log: string[]) => {
          const events: TradingEvent[] = [];
          const off = core.subscribe((e) => events.push(e));
          const result = core.apply(r);
          off();
          log.push(json({ result, events }));
          return events;
        };
        const fullLog: string[] = [];
        const a = new TradingCore(opts());
        for (const r of records) run(a, r, fullLog);
        const b = new TradingCore(opts());
        for (const r of records) b.apply(r);
        const state = (c: TradingCore) => JSON.stringify(c.snapshot());
        assert.equal(state(b), state(a));

        const cuts = [...new Set(cutSeeds.map((n) => n % (records.length + 1)))].sort((x, y) => x - y);
        const log: string[] = [];
        let core = new TradingCore(opts());
        let i = 0;
        let failedAtLastCut = new Set<string>();
        const firstDebit = new Map<string, number>();
        records.forEach((r, j) => r.t === "custodyDebit" && !firstDebit.has(r.ref) && firstDebit.set(r.ref, j));
        const step = () => {
          const r = records[i];
          if (r.t === "custodyDebit" && firstDebit.get(r.ref)! < i && cuts.some((c) => firstDebit.get(r.ref)! < c && c <= i)) seen.custodyDebitAgainAfterRestore++;
          const events = run(core, records[i++], log);
          if (i > cuts[0]) seen.tradesAfterRestore += events.filter((e) => e.kind === "trade").length;
          // Failed before the cut, retried or reversed after it: only the snapshot knew the trade.
          if (i > cuts[cuts.length - 1]) seen.failedTradesResolvedAfterRestore += events.filter((e) => e.kind === "settlementResolved" && failedAtLastCut.has(e.trade.tradeId)).length;
          seen.volatilityHalts += events.filter((e) => e.kind === "marketStatus" && e.halted && e.reason.startsWith("volatility")).length;
        };
        for (const cut of cuts) {
          while (i < cut) step();
          const snap = core.snapshot();
          if (snap.orders.some((o) => formValue(o).isActive)) seen.restoredWithOpenOrders++;
          if (snap.unsettled.length > 0) seen.restoredWithUnsettled++;
          failedAtLastCut = new Set((snap.failedSettlements ?? []).map((t) => t.tradeId));
          if (failedAtLastCut.size > 0) seen.restoredWithFailedSettlements++;
          if (snap.markets.some(([, m]) => m.window.length > 0)) seen.restoredInVolatilityWindow++;
          if (snap.ledger.some((row) => row[4] !== undefined)) seen.restoredOwing++;
          core = TradingCore.restore(JSON.parse(JSON.stringify(snap)), opts());
          seen.restores++;
        }
        while (i < records.length) step();
        assert.equal(state(core), state(a));
        assert.deepEqual(log, fullLog, "the restored core answered and emitted differently");
        const placed = records.filter((r) => r.t === "place").length;
        if (a.snapshot().orders.length < placed) seen.ordersForgotten++;
      }),
      { numRuns: 60 },
    );
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `the streams never exercised ${what}: ${json(seen)}`);
  });

  it("forgets finished orders after the retention, in record time; open orders stay", () => {
    const core = new TradingCore({ ...options(), orderRetentionMs: 60_000 });
    core.apply({ t: "deposit", ts: 0, accountId: "s", currency: "GOLD", amount: "100", ref: "d1" });
    core.apply({ t: "deposit", ts: 0, accountId: "b", currency: "VND", amount: "100000000", ref: "d2" });
    const place = (orderId: string, accountId: string, side: "buy" | "sell", size: number, ts: number) =>
      core.apply({ t: "place", ts, orderId, accountId, identityHash: accountId, symbol: "GOLD-VND", side, type: "limit", price: 10_000, size, tif: "GTC", postOnly: false, stp: "CN", clientOid: `c-${orderId}` });
    place("01", "s", "sell", 5, 1_000); // rests, then partly filled: stays open
    place("02", "b", "buy", 2, 2_000); // filled at once: finished at 2,000
    place("03", "b", "buy", 1, 30_000); // filled: finished at 30,000
    assert.deepEqual(core.accountOrders("b").map((o) => o.orderId), ["03", "02"], "newest first");
    assert.deepEqual(core.accountOrders("s").map((o) => o.orderId), ["01"]);

    core.apply({ t: "deposit", ts: 62_000, accountId: "b", currency: "VND", amount: "1", ref: "d3" }); // any record moves time
    assert.equal(core.order("02"), undefined, "finished 60 s ago: forgotten");
    assert.equal(core.orderByClientOid("b", "c-02"), undefined);
    assert.equal(core.order("03")?.orderId, "03", "finished 32 s ago: kept");
    assert.deepEqual(core.accountOrders("b").map((o) => o.orderId), ["03"]);

    core.apply({ t: "deposit", ts: 10_000_000, accountId: "b", currency: "VND", amount: "1", ref: "d4" });
    assert.equal(core.order("03"), undefined);
    assert.deepEqual(core.accountOrders("b"), []);
    assert.equal(core.order("01")?.isActive, true, "an open order is never forgotten");
    assert.equal(core.fills("b").length, 2, "fills have their own cap");
    // a forgotten order's clientOid is free again (the duplicate-clientOid rule looks it up here)
    core.apply({ t: "place", ts: 10_000_001, orderId: "05", accountId: "b", identityHash: "b", symbol: "GOLD-VND", side: "buy", type: "limit", price: 9_000, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: "c-02" });
    assert.equal(core.orderByClientOid("b", "c-02")?.orderId, "05");
  });

  it("keeps the settlement transaction and the order type on both fills, also across an older snapshot", () => {
    const core = new TradingCore({ ...options(), orderRetentionMs: 1_000 });
    core.apply({ t: "deposit", ts: 0, accountId: "s", currency: "GOLD", amount: "10", ref: "d1" });
    core.apply({ t: "deposit", ts: 0, accountId: "b", currency: "VND", amount: "10000000", ref: "d2" });
    core.apply({ t: "place", ts: 1, orderId: "01", accountId: "s", identityHash: "s", symbol: "GOLD-VND", side: "sell", type: "limit", price: 10_000, size: 2, tif: "GTC", postOnly: false, stp: "CN", clientOid: "s1" });
    core.apply({ t: "place", ts: 2, orderId: "02", accountId: "b", identityHash: "b", symbol: "GOLD-VND", side: "buy", type: "market", size: 2, tif: "GTC", postOnly: false, stp: "CN", clientOid: "b1" });
    const tradeId = core.fills("b")[0].tradeId;
    core.apply({ t: "settled", ts: 5_000, tradeIds: [tradeId], txHash: "0xabc" });
    assert.equal(core.unsettledCount(), 0);
    assert.equal(core.order("02"), undefined, "the market order is forgotten (retention 1 s)...");
    assert.deepEqual(
      [core.fills("b")[0].orderType, core.fills("b")[0].settlementTxHash, core.fills("s")[0].orderType, core.fills("s")[0].settlementTxHash],
      ["market", "0xabc", "limit", "0xabc"],
      "...its fill still says what it was and where it settled",
    );
    // a snapshot written before fills carried the hash
    const old = JSON.parse(JSON.stringify(core.snapshot()));
    for (const [, fills] of old.fills) for (const f of fills) delete f.settlementTxHash;
    delete old.finished;
    old.settlementTx = [[tradeId, "0xabc"]];
    const restored = TradingCore.restore(old, options());
    assert.equal(restored.fills("b")[0].settlementTxHash, "0xabc");
    assert.equal(restored.fills("s")[0].settlementTxHash, "0xabc");
  });

  it("charges maker/taker fees in VND, rounded up once on the running total", () => {
    const core = new TradingCore(options());
    const ts = 1;
    core.apply({ t: "deposit", ts, accountId: "s", currency: "GOLD", amount: "100", ref: "d1" });
    core.apply({ t: "deposit", ts, accountId: "b", currency: "VND", amount: "10000000", ref: "d2" });
    const place = (orderId: string, accountId: string, side: "buy" | "sell", price: number, size: number) =>
      core.apply({ t: "place", ts, orderId, accountId, identityHash: accountId, symbol: "GOLD-VND", side, type: "limit", price, size, tif: "GTC", postOnly: false, stp: "CN", clientOid: orderId });
    place("01", "s", "sell", 10_000, 3);
    place("02", "b", "buy", 10_100, 3); // takes 3 @ 10,000: notional 30,000
    // taker (buyer) 20 bps: 60 đồng; maker (seller) 10 bps: 30 đồng
    assert.equal(core.ledger.balance("b", "VND").available, 10_000_000n - 30_000n - 60n);
    assert.equal(core.ledger.balance("b", "VND").hold, 0n);
    assert.equal(core.ledger.balance("s", "VND").available, 30_000n - 30n);
    assert.equal(core.ledger.balance(FEES, "VND").available, 90n);
    assert.equal(core.ledger.balance("b", "GOLD").available, 3n);
    assert.equal(core.fills("b")[0].liquidity, "taker");
    assert.equal(core.fills("s")[0].fee, 30n);
  });

  it("a resting buy filled as maker pays a maker fee above the taker fee from its own hold, never from the account's other orders", () => {
    const catalog = new MarketCatalog(
      [{ currency: "VND", fullName: "VND", decimals: 0 }, { currency: "X", fullName: "X", decimals: 0 }],
      [{ symbol: "X-VND", name: "X-VND", base: "X", quote: "VND", tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000, bandBps: 500, makerFeeBps: 100, takerFeeBps: 0, assetClass: "crypto-asset" }],
    );
    const core = new TradingCore({ catalog, feeAccount: FEES, taxAccount: TAX });
    const ts = 1;
    core.apply({ t: "deposit", ts, accountId: "b", currency: "VND", amount: "1000000", ref: "d1" });
    core.apply({ t: "deposit", ts, accountId: "s", currency: "X", amount: "10", ref: "d2" });
    const buy = (orderId: string, price: number) =>
      core.apply({ t: "place", ts, orderId, accountId: "b", identityHash: "b", symbol: "X-VND", side: "buy", type: "limit", price, size: 10, tif: "GTC", postOnly: false, stp: "CN", clientOid: orderId });
    buy("01", 10_000);
    buy("02", 9_000);
    // held for the higher of the two fees: 100,000 + 1%
    assert.equal(core.order("01")!.holdRemaining, 101_000n);
    core.apply({ t: "place", ts, orderId: "03", accountId: "s", identityHash: "s", symbol: "X-VND", side: "sell", type: "market", size: 10, tif: "GTC", postOnly: false, stp: "CN", clientOid: "03" });
    assert.equal(core.fills("b")[0].liquidity, "maker");
    assert.equal(core.fills("b")[0].fee, 1_000n);
    assert.equal(core.order("02")!.holdRemaining, 90_900n, "order 02's hold is untouched");
    assert.equal(core.ledger.balance("b", "VND").hold, 90_900n);
    assert.equal(core.apply({ t: "cancel", ts, orderId: "02", accountId: "b" }).ok, true);
    assert.equal(core.ledger.balance("b", "VND").available, 1_000_000n - 100_000n - 1_000n);
    assert.equal(core.ledger.balance(FEES, "VND").available, 1_000n);
  });

  it("a market buy by funds spends its funds on a base counted in hundredths (funds scaled to the engine's price x qty units)", () => {
    const catalog = new MarketCatalog(
      [{ currency: "VND", fullName: "VND", decimals: 0 }, { currency: "X", fullName: "X in hundredths", decimals: 2 }],
      [{ symbol: "X-VND", name: "X-VND", base: "X", quote: "VND", tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000_000, bandBps: 500, makerFeeBps: 0, takerFeeBps: 0, assetClass: "crypto-asset" }],
    );
    const core = new TradingCore({ catalog, feeAccount: FEES, taxAccount: TAX });
    const ts = 1;
    core.apply({ t: "deposit", ts, accountId: "b", currency: "VND", amount: "1000000", ref: "d1" });
    core.apply({ t: "deposit", ts, accountId: "s", currency: "X", amount: "100000", ref: "d2" }); // 1,000.00 X
    // 1,000 VND per whole X
    core.apply({ t: "place", ts, orderId: "01", accountId: "s", identityHash: "s", symbol: "X-VND", side: "sell", type: "limit", price: 1_000, size: 100_000, tif: "GTC", postOnly: false, stp: "CN", clientOid: "01" });
    const r = core.apply({ t: "place", ts, orderId: "02", accountId: "b", identityHash: "b", symbol: "X-VND", side: "buy", type: "market", funds: "100000", tif: "GTC", postOnly: false, stp: "CN", clientOid: "02" });
    assert.equal(r.ok, true);
    const o = core.order("02")!;
    assert.equal(o.dealFunds, 100_000n, "the whole funds are spent");
    assert.equal(o.dealSize, 10_000, "100.00 X");
    assert.equal(core.ledger.balance("b", "X").available, 10_000n);
    assert.equal(core.ledger.balance("b", "VND").available, 900_000n);
    assert.equal(core.ledger.balance("b", "VND").hold, 0n);
  });

  it("halts a symbol on a price move beyond the volatility band, for the halt period", () => {
    const core = new TradingCore(options());
    core.apply({ t: "deposit", ts: 0, accountId: "s", currency: "GOLD", amount: "100", ref: "d1" });
    core.apply({ t: "deposit", ts: 0, accountId: "b", currency: "VND", amount: "100000000", ref: "d2" });
    const trade = (n: number, price: number, ts: number) => {
      core.apply({ t: "place", ts, orderId: `s${n}`, accountId: "s", identityHash: "s", symbol: "GOLD-VND", side: "sell", type: "limit", price, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: `s${n}` });
      core.apply({ t: "place", ts, orderId: `b${n}`, accountId: "b", identityHash: "b", symbol: "GOLD-VND", side: "buy", type: "limit", price, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: `b${n}` });
    };
    trade(1, 10_000, 1_000);
    trade(2, 11_000, 2_000); // +10%: within the 20% band
    assert.equal(core.isHalted("GOLD-VND", 2_000), false);
    trade(3, 12_500, 3_000); // +25% from the oldest trade in the window
    assert.equal(core.isHalted("GOLD-VND", 3_000), true);
    assert.equal(core.isHalted("GOLD-VND", 3_000 + 30_000), false);
  });
});
