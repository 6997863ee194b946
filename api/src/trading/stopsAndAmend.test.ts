import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import { createHolderRules, type HolderState } from "../risk/holderRules.ts";
import { preTradeCheck } from "../risk/preTradeCheck.ts";
import { TokenBuckets } from "../auth/tokenBucket.ts";
import { DEFAULT_RISK, HolderCode, RiskCode, type RiskConfig } from "../risk/types.ts";
import type { TradingEvent } from "./events.ts";
import type { PlaceRecord, TradingRecord } from "../records/tradingRecords.ts";
import { SYMBOL as S, T0, commandStream, hexId, json } from "./testing/commandStream.ts";
import { TradingCore, type TradingCoreOptions } from "./tradingCore.ts";

const options = (): TradingCoreOptions => ({ catalog: defaultCatalog(), feeAccount: "fees", taxAccount: "tax" });

/** A core funded for two accounts, and helpers that journal-like number the orders. */
function market() {
  const core = new TradingCore(options());
  let ts = T0;
  let n = 0;
  const records: TradingRecord[] = [];
  const apply = (r: TradingRecord) => {
    records.push(r);
    return core.apply(r);
  };
  for (const a of ["a", "b"]) {
    apply({ t: "deposit", ts: ++ts, accountId: a, currency: "VND", amount: "10000000", ref: `v-${a}` });
    apply({ t: "deposit", ts: ++ts, accountId: a, currency: "GOLD", amount: "1000", ref: `g-${a}` });
  }
  const place = (accountId: string, o: Partial<PlaceRecord> & Pick<PlaceRecord, "side">) => {
    const orderId = hexId(++n);
    const r = apply({ t: "place", ts: ++ts, orderId, accountId, identityHash: `id-${accountId}`, symbol: S, type: "limit", tif: "GTC", postOnly: false, stp: "CN", clientOid: `c${n}`, ...o });
    return { orderId, r };
  };
  const amend = (accountId: string, orderId: string, change: { price?: number; size?: number }) => apply({ t: "amend", ts: ++ts, orderId, accountId, ...change });
  const vnd = (a: string) => core.ledger.balance(a, "VND");
  return { core, apply, place, amend, vnd, records };
}

describe("stop orders in the core", () => {
  it("waits with its hold, stays out of the book, triggers on a trade at or below a loss stop and fills", () => {
    const m = market();
    const { orderId: stop } = m.place("a", { side: "sell", price: 9_000, size: 5, stop: { stopPrice: 9_500, kind: "loss" } });
    assert.equal(m.core.ledger.balance("a", "GOLD").hold, 5n, "the stop holds what it sells");
    assert.deepEqual(m.core.l2(S)?.asks, [], "a waiting stop is not in the book");
    m.place("b", { side: "buy", price: 9_000, size: 5 }); // resting bid the stop will hit
    // A trade at 10,000 does not reach the stop...
    m.place("b", { side: "sell", price: 10_000, size: 1 });
    m.place("a", { side: "buy", price: 10_000, size: 1 });
    assert.equal(m.core.order(stop)!.stop!.triggered, false);
    // ...one at 9,500 does: the stop becomes a limit sell at 9,000 and fills against the bid.
    m.place("b", { side: "sell", price: 9_500, size: 1 });
    m.place("a", { side: "buy", price: 9_500, size: 1 });
    const o = m.core.order(stop)!;
    assert.equal(o.stop!.triggered, true);
    assert.equal(o.dealSize, 5);
    assert.equal(o.isActive, false);
    assert.equal(m.core.ledger.balance("a", "GOLD").hold, 0n);
  });

  it("a core restored from a snapshot held in memory (its forms frozen for reuse) still triggers its waiting stops", () => {
    const m = market();
    const { orderId: stop } = m.place("a", { side: "sell", price: 9_000, size: 5, stop: { stopPrice: 9_500, kind: "loss" } });
    m.place("b", { side: "buy", price: 9_000, size: 5 });
    m.core.snapshot(); // an earlier capture: the next one hands out the same (frozen) forms
    const core = TradingCore.restore(m.core.snapshot(), options());
    let ts = T0 + 1_000;
    core.apply({ t: "place", ts: ++ts, orderId: hexId(100), accountId: "b", identityHash: "id-b", symbol: S, type: "limit", tif: "GTC", postOnly: false, stp: "CN", clientOid: "c100", side: "sell", price: 9_500, size: 1 });
    core.apply({ t: "place", ts: ++ts, orderId: hexId(101), accountId: "a", identityHash: "id-a", symbol: S, type: "limit", tif: "GTC", postOnly: false, stp: "CN", clientOid: "c101", side: "buy", price: 9_500, size: 1 });
    assert.equal(core.order(stop)!.stop!.triggered, true);
    assert.equal(core.order(stop)!.dealSize, 5);
  });

  it("an entry stop triggers at or above its price; cancelling a waiting stop releases its hold", () => {
    const m = market();
    const before = m.vnd("a").available;
    const { orderId: entry } = m.place("a", { side: "buy", type: "market", size: 2, tif: "GTC", stop: { stopPrice: 11_000, kind: "entry" } });
    const { orderId: other } = m.place("a", { side: "buy", price: 10_500, size: 1, stop: { stopPrice: 12_000, kind: "entry" } });
    assert.ok(m.vnd("a").hold > 0n);
    assert.equal(m.apply({ t: "cancel", ts: T0 + 1_000, orderId: other, accountId: "a" }).ok, true);
    assert.equal(m.core.order(other)!.cancelExist, true);
    m.place("b", { side: "sell", price: 11_000, size: 4 });
    m.place("a", { side: "buy", price: 11_000, size: 1 }); // trade at 11,000 triggers the entry stop
    const o = m.core.order(entry)!;
    assert.equal(o.stop!.triggered, true);
    assert.equal(o.dealSize, 2, "the triggered market buy took the rest of the ask");
    assert.equal(m.vnd("a").hold, 0n, "nothing stays held");
    assert.ok(m.vnd("a").available < before);
  });

  it("a market buy stop is held at its stop price, held again at the ask when it triggers, and refused (hold released) when that is short", () => {
    const m = market();
    // c can pay for 10 at the stop price plus the band (10,500) and the taker fee: 105,210.
    m.apply({ t: "deposit", ts: T0 + 100, accountId: "c", currency: "VND", amount: "105210", ref: "v-c" });
    const events: TradingEvent[] = [];
    m.core.subscribe((e) => events.push(e));
    const { orderId: stop } = m.place("c", { side: "buy", type: "market", size: 10, stop: { stopPrice: 10_000, kind: "entry" } });
    assert.equal(m.vnd("c").hold, 105_210n);
    // The ask is at 11,000 when a trade at 11,000 triggers it: 10 × 11,550 (+ fee) is more than c has.
    m.place("b", { side: "sell", price: 11_000, size: 20 });
    m.place("a", { side: "buy", price: 11_000, size: 1 });
    const o = m.core.order(stop)!;
    assert.equal(o.stop!.triggered, true);
    assert.equal(o.isActive, false);
    assert.equal(o.doneReason, "RISK_INSUFFICIENT_FUNDS");
    assert.equal(o.dealSize, 0);
    assert.deepEqual([m.vnd("c").available, m.vnd("c").hold], [105_210n, 0n], "nothing spent, nothing left held");
    const mine = events.filter((e) => e.kind === "order" && e.order.orderId === stop).map((e) => e.kind === "order" && [e.change, e.order.isActive]);
    assert.deepEqual(mine, [
      ["open", true],
      ["triggered", false],
      ["rejected", false],
    ]);
  });

  it("cancelAll by scope: orders leaves waiting stops, stops leaves live orders", () => {
    const m = market();
    const { orderId: live } = m.place("a", { side: "buy", price: 9_000, size: 1 });
    const { orderId: stop } = m.place("a", { side: "sell", price: 9_000, size: 1, stop: { stopPrice: 9_000, kind: "loss" } });
    m.apply({ t: "cancelAll", ts: T0 + 5_000, accountId: "a", reason: "user", scope: "orders" });
    assert.equal(m.core.order(live)!.isActive, false);
    assert.equal(m.core.order(stop)!.isActive, true);
    const { orderId: live2 } = m.place("a", { side: "buy", price: 9_000, size: 1 });
    m.apply({ t: "cancelAll", ts: T0 + 6_000, accountId: "a", reason: "user", scope: "stops" });
    assert.equal(m.core.order(stop)!.isActive, false);
    assert.equal(m.core.order(live2)!.isActive, true);
  });
});

describe("amend in the core", () => {
  it("keeps priority when only the size goes down, loses it when the price changes", () => {
    const m = market();
    const { orderId: first } = m.place("a", { side: "buy", price: 9_000, size: 5 });
    const { orderId: second } = m.place("b", { side: "buy", price: 9_000, size: 5 });
    assert.equal(m.amend("a", first, { size: 3 }).ok, true);
    assert.equal(m.core.order(first)!.size, 3);
    m.place("b", { side: "sell", price: 9_000, size: 1 });
    assert.equal(m.core.order(first)!.dealSize, 1, "the reduced order is still first in line");
    // A price change (up and back) sends it to the back of the level.
    assert.equal(m.amend("a", first, { price: 8_900 }).ok, true);
    assert.equal(m.amend("a", first, { price: 9_000 }).ok, true);
    m.place("b", { side: "sell", price: 9_000, size: 1 });
    assert.equal(m.core.order(second)!.dealSize, 0, "b's own sell does not match b (STP CN cancels it)");
    m.place("b", { side: "sell", price: 9_000, size: 1, stp: "CN" });
    const a = m.core.order(first)!;
    assert.equal(a.dealSize, 1, "after losing priority nothing more reached it: b's resting bid was ahead");
  });

  it("a rise needs funds: refused all or nothing, the state unchanged; the hold follows an accepted change", () => {
    const m = market();
    const { orderId } = m.place("a", { side: "buy", price: 9_000, size: 10 });
    const heldBefore = m.vnd("a").hold;
    const state = JSON.stringify(m.core.snapshot());
    assert.deepEqual(m.amend("a", orderId, { size: 100_000 }), { ok: false, code: "RISK_INSUFFICIENT_FUNDS", order: m.core.order(orderId) });
    assert.equal(JSON.stringify(m.core.snapshot()), state, "a refused amend changed the state");
    assert.equal(m.amend("a", orderId, { price: 9_100, size: 20 }).ok, true);
    assert.ok(m.vnd("a").hold > heldBefore);
    assert.equal(m.amend("a", orderId, { size: 2 }).ok, true);
    assert.ok(m.vnd("a").hold < heldBefore);
    assert.equal(m.amend("b", orderId, { size: 3 }).ok, false, "someone else's order");
  });
});

/** Random streams of orders, stops, amends and cancels by three accounts. */
const { step, recordsOf } = commandStream({
  accounts: ["a", "b", "c"],
  deposit: { VND: 3_000_000n, GOLD: 200n },
  ticks: 4,
  weights: { limit: 6, market: 2, stop: 3, amend: 3, cancel: 2, cancelAll: 1 },
  maxSize: { limit: 20, market: 20, stop: 20, amend: 30 },
  everyOption: false,
  partialAmends: true,
  recent: 6,
});

describe("stops and amends replay deterministically", () => {
  it("snapshot at any point + the rest of the records = never stopped (state and events)", (t) => {
    const stats = { amendsApplied: 0, triggered: 0, longest: 0 };
    fc.assert(
      // size: fast-check 4 otherwise stops arrays at about 10 steps, short of any cascade.
      fc.property(fc.array(step, { minLength: 5, maxLength: 60, size: "max" }), fc.nat(), (steps, cutSeed) => {
        stats.longest = Math.max(stats.longest, steps.length);
        const records = recordsOf(steps);
        const whole = new TradingCore(options());
        const events: TradingEvent[] = [];
        whole.subscribe((e) => events.push(e));
        const cut = cutSeed % (records.length + 1);
        let mark = 0;
        let snap: ReturnType<TradingCore["snapshot"]> | undefined;
        records.forEach((r, i) => {
          if (i === cut) {
            snap = whole.snapshot();
            mark = events.length;
          }
          const res = whole.apply(r);
          if (r.t === "amend" && res.ok) stats.amendsApplied++;
        });
        if (cut === records.length) {
          snap = whole.snapshot();
          mark = events.length;
        }
        stats.triggered += events.filter((e) => e.kind === "order" && e.change === "triggered").length;
        const restored = TradingCore.restore(JSON.parse(JSON.stringify(snap)), options());
        const tail: TradingEvent[] = [];
        restored.subscribe((e) => tail.push(e));
        for (const r of records.slice(cut)) restored.apply(r);
        assert.equal(json(restored.snapshot()), json(whole.snapshot()));
        assert.equal(json(tail), json(events.slice(mark)));
        // Replay from nothing gives the same state too.
        const again = new TradingCore(options());
        for (const r of records) again.apply(r);
        assert.equal(json(again.snapshot()), json(whole.snapshot()));
        // Holds always equal what the open orders still hold.
        for (const a of ["a", "b", "c"]) {
          for (const ccy of ["VND", "GOLD"]) {
            const open = [...whole.openOrderIds(a)].map((id) => whole.order(id)!).filter((o) => o.holdCurrency === ccy);
            assert.equal(whole.ledger.balance(a, ccy).hold, open.reduce((s, o) => s + o.holdRemaining, 0n), `${a} ${ccy} hold`);
          }
        }
      }),
      { numRuns: 300 },
    );
    t.diagnostic(json(stats));
    assert.ok(stats.amendsApplied > 20, `only ${stats.amendsApplied} amends applied`);
    assert.ok(stats.triggered > 10, `only ${stats.triggered} stops triggered`);
    assert.ok(stats.longest > 30, `streams of at most ${stats.longest} steps`);
  });
});

describe("pre-trade checks of a stop that the last price already meets", () => {
  /** A market that last traded at 10,000, with a bid at 9,900 and an ask at 10,000 resting. */
  function traded() {
    const m = market();
    m.place("b", { side: "sell", price: 10_000, size: 1 });
    m.place("a", { side: "buy", price: 10_000, size: 1 });
    m.place("b", { side: "buy", price: 9_900, size: 100 });
    m.place("b", { side: "sell", price: 10_000, size: 100 });
    assert.equal(m.core.marketState(S)!.lastPrice, 10_000);
    const risk: RiskConfig = structuredClone(DEFAULT_RISK);
    const now = T0 + 60_000;
    const check = (o: Partial<PlaceRecord> & Pick<PlaceRecord, "side" | "stop">) =>
      preTradeCheck({ ts: now, accountId: "a", identityHash: "id-a", symbol: S, type: "limit", tif: "GTC", postOnly: false, stp: "CN", clientOid: `k${now}-${Math.random()}`, ...o }, m.core, risk, new TokenBuckets(), now)?.code ?? null;
    return { m, risk, check };
  }

  it("is held to the price collar around the market, not around its own stop price", () => {
    const { check } = traded();
    // An entry sell stop at 5,000 triggers at once (10,000 ≥ 5,000) and would sell down the book to 5,000.
    assert.equal(check({ side: "sell", price: 5_000, size: 1, stop: { stopPrice: 5_000, kind: "entry" } }), RiskCode.PRICE_COLLAR);
    assert.equal(check({ side: "buy", price: 20_000, size: 1, stop: { stopPrice: 20_000, kind: "loss" } }), RiskCode.PRICE_COLLAR);
    // The same prices as stops that wait are fine: they trade only once the market is there.
    assert.equal(check({ side: "sell", price: 5_000, size: 1, stop: { stopPrice: 5_000, kind: "loss" } }), null);
    assert.equal(check({ side: "buy", price: 20_000, size: 1, stop: { stopPrice: 20_000, kind: "entry" } }), null);
  });

  it("a market buy by size is valued at the ask, not at a stop price far below it", () => {
    const { m, risk, check } = traded();
    const market = m.core.catalog.market(S)!;
    risk.defaults.maxOrderValue = (m.core.catalog.notional(market, 10_000, 50) - 1n).toString();
    // Valued at its stop price (100) it would pass; it triggers at once and buys 50 at 10,000.
    assert.equal(check({ side: "buy", type: "market", price: undefined, size: 50, stop: { stopPrice: 100, kind: "entry" } }), RiskCode.MAX_ORDER_VALUE);
    assert.equal(check({ side: "buy", type: "market", price: undefined, size: 49, stop: { stopPrice: 100, kind: "entry" } }), null);
  });
});

describe("the chain's holder rules on an amendment", () => {
  const VND = "0x00000000000000000000000000000000000000a1";
  const GOLD = "0x00000000000000000000000000000000000000a2";
  const wallet = "0x00000000000000000000000000000000000000b1";
  /** The chain as of one block, held in memory: one wallet, its e-ID valid or revoked. */
  const chainState = (revoked: boolean): HolderState => ({
    block: 1n,
    timestamp: Math.floor(T0 / 1000),
    rules: () => ({ paused: false, minKycLevel: 0, investorTypeMask: 0, countryRule: 0, maxBalancePerIdentity: 0n, tracksIdentityBalances: false }),
    countryListed: () => false,
    identityOf: () => ({ identityHash: "0x" + "11".repeat(32), kycLevel: 2, country: 704, investorType: 2, expiresAt: Math.floor(T0 / 1000) + 365 * 86_400, revoked, issuer: "0x00000000000000000000000000000000000000c1" }),
    issuerTrusted: () => true,
    walletsOf: () => [wallet],
    addressFrozen: () => false,
    frozenTokens: () => 0n,
    balanceOf: () => 0n,
    custodyOf: () => 0n,
    identityBalance: () => 0n,
    pendingReceipts: () => 0n,
  });

  it("a new price re-enters the order, so a revoked e-ID is refused; a size cut at the same price is not", () => {
    const catalog = defaultCatalog({ VND, GOLD });
    const core = new TradingCore({ catalog, feeAccount: "fees", taxAccount: "tax" });
    core.apply({ t: "deposit", ts: T0, accountId: wallet, currency: "VND", amount: "10000000", ref: "v" });
    const placed = core.apply({ t: "place", ts: T0 + 1, orderId: hexId(1), accountId: wallet, identityHash: "0x" + "11".repeat(32), symbol: S, type: "limit", side: "buy", price: 9_000, size: 10, tif: "GTC", postOnly: false, stp: "CN", clientOid: "h1" });
    assert.equal(placed.ok, true);
    const order = core.order(hexId(1))!;
    let revoked = false;
    const rules = createHolderRules({ catalog, horizonMs: 60_000, states: () => [chainState(revoked)] });
    const now = T0 + 10;
    const amend = (price: number, open: number) =>
      preTradeCheck({ accountId: wallet, identityHash: order.identityHash, symbol: S, side: "buy", type: "limit", price, size: open, tif: "GTC", postOnly: false, stp: "CN", clientOid: "h1" }, core, structuredClone(DEFAULT_RISK), new TokenBuckets(), now, rules, undefined, order)?.code ?? null;
    assert.equal(amend(9_100, 10), null, "valid e-ID: a new price is fine");
    revoked = true;
    assert.equal(amend(9_100, 10), HolderCode.IDENTITY_REVOKED, "a new price after the e-ID was revoked");
    assert.equal(amend(9_100, 5), HolderCode.IDENTITY_REVOKED, "a new price with a smaller size re-enters the order too");
    assert.equal(amend(9_000, 5), null, "a size cut at the same price only lowers what the order can bring");
  });
});

describe("a kill switch or a revoked e-ID (account frozen) ends waiting stops", () => {
  it("cancels them with their holds released, and a later trade at their stop price does not trigger them", () => {
    const m = market();
    const { orderId: sellStop } = m.place("a", { side: "sell", price: 9_000, size: 5, stop: { stopPrice: 9_500, kind: "loss" } });
    const { orderId: buyStop } = m.place("a", { side: "buy", type: "market", size: 2, stop: { stopPrice: 9_500, kind: "loss" } });
    assert.ok(m.vnd("a").hold > 0n && m.core.ledger.balance("a", "GOLD").hold === 5n);
    m.apply({ t: "accountStatus", ts: T0 + 10_000, accountId: "a", frozen: true, reason: "e-ID revoked", by: "identity-sweep" });
    for (const id of [sellStop, buyStop]) {
      const o = m.core.order(id)!;
      assert.deepEqual([o.isActive, o.cancelExist, o.stop!.triggered], [false, true, false]);
    }
    assert.deepEqual([m.vnd("a").hold, m.core.ledger.balance("a", "GOLD").hold], [0n, 0n]);
    m.apply({ t: "place", ts: T0 + 11_000, orderId: hexId(100), accountId: "b", identityHash: "id-b", symbol: S, side: "buy", type: "limit", price: 9_500, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: "b-bid" });
    m.apply({ t: "deposit", ts: T0 + 11_001, accountId: "c", currency: "GOLD", amount: "10", ref: "g-c" });
    m.apply({ t: "place", ts: T0 + 11_002, orderId: hexId(101), accountId: "c", identityHash: "id-c", symbol: S, side: "sell", type: "limit", price: 9_500, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: "c-ask" });
    assert.equal(m.core.marketState(S)!.lastPrice, 9_500);
    assert.equal(m.core.order(sellStop)!.stop!.triggered, false, "a cancelled stop never triggers");
    assert.equal(m.core.fills("a").length, 0);
  });
});
