import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import type { TradingRecord } from "./records.ts";
import { TradingCore, type TradingCoreOptions } from "./tradingCore.ts";

const FEES = "fees";
const options = (): TradingCoreOptions => ({ catalog: defaultCatalog(), feeAccount: FEES, volatility: { windowMs: 60_000, bandBps: 2_000, haltMs: 30_000 } });
const ACCOUNTS = ["a1", "a2", "a3"];
const IDENTITY: Record<string, string> = { a1: "id-1", a2: "id-2", a3: "id-1" }; // a1 and a3: one person, two accounts
const SYMBOLS = ["VGB30-VND", "SREF-VND"];

/** Random command streams in the shape the service journals (ids assigned in order). */
const recordsArb = fc
  .array(
    fc.oneof(
      { weight: 2, arbitrary: fc.record({ k: fc.constant("deposit"), a: fc.constantFrom(...ACCOUNTS), c: fc.constantFrom("VND", "VGB30", "SREF"), amt: fc.integer({ min: 1, max: 5_000_000 }) }) },
      {
        weight: 6,
        arbitrary: fc.record({
          k: fc.constant("limit"),
          a: fc.constantFrom(...ACCOUNTS),
          s: fc.constantFrom(...SYMBOLS),
          side: fc.constantFrom("buy" as const, "sell" as const),
          p: fc.integer({ min: 95, max: 105 }).map((x) => x * 100),
          q: fc.integer({ min: 1, max: 50 }),
          tif: fc.constantFrom("GTC" as const, "GTC" as const, "IOC" as const, "FOK" as const),
          postOnly: fc.boolean(),
          stp: fc.constantFrom("CN" as const, "CO" as const, "CB" as const, "DC" as const),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          k: fc.constant("market"),
          a: fc.constantFrom(...ACCOUNTS),
          s: fc.constantFrom(...SYMBOLS),
          side: fc.constantFrom("buy" as const, "sell" as const),
          q: fc.integer({ min: 1, max: 60 }),
          funds: fc.option(fc.integer({ min: 100, max: 500_000 }), { nil: undefined }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ k: fc.constant("cancel"), a: fc.constantFrom(...ACCOUNTS), n: fc.nat(200) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant("cancelAll"), a: fc.constantFrom(...ACCOUNTS) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant("freeze"), a: fc.constantFrom(...ACCOUNTS), on: fc.boolean() }) },
    ),
    { maxLength: 120 },
  )
  .map((cmds) => {
    const out: TradingRecord[] = [];
    let orderNo = 0;
    let ts = 1_700_000_000_000;
    cmds.forEach((c, i) => {
      ts += 250;
      if (c.k === "deposit") out.push({ t: "deposit", ts, accountId: c.a, currency: c.c, amount: String(c.amt), ref: `dep-${i}` });
      else if (c.k === "limit" || c.k === "market") {
        const orderId = (++orderNo).toString(16).padStart(24, "0");
        const common = { t: "place" as const, ts, orderId, accountId: c.a, identityHash: IDENTITY[c.a], symbol: c.s, side: c.side, clientOid: `c${i}` };
        if (c.k === "limit") out.push({ ...common, type: "limit", price: c.p, size: c.q, tif: c.tif, postOnly: c.postOnly && c.tif === "GTC", stp: c.stp });
        else if (c.funds !== undefined && c.side === "buy") out.push({ ...common, type: "market", funds: String(c.funds), tif: "GTC", postOnly: false, stp: "CN" });
        else out.push({ ...common, type: "market", size: c.q, tif: "GTC", postOnly: false, stp: "CN" });
      } else if (c.k === "cancel") {
        out.push({ t: "cancel", ts, accountId: c.a, orderId: ((c.n % Math.max(orderNo, 1)) + 1).toString(16).padStart(24, "0") });
      } else if (c.k === "cancelAll") out.push({ t: "cancelAll", ts, accountId: c.a, reason: "user" });
      else out.push({ t: "accountStatus", ts, accountId: c.a, frozen: c.on, reason: "test" });
    });
    return out;
  });

function checkInvariants(core: TradingCore, deposited: Map<string, bigint>): void {
  // Conservation: trading only moves value; the ledger holds exactly what was deposited.
  for (const ccy of ["VND", "VGB30", "SREF"]) assert.equal(core.ledger.total(ccy), deposited.get(ccy) ?? 0n, `conservation of ${ccy}`);
  // Every hold is explained by an active order's remaining hold, and vice versa.
  const holds = new Map<string, bigint>();
  for (const o of core.orders()) {
    assert.ok(o.holdRemaining >= 0n, `order ${o.orderId} over-consumed its hold`);
    if (o.type === "limit") assert.ok(o.dealSize <= o.size);
    if (o.isActive) {
      const k = `${o.accountId}/${o.holdCurrency}`;
      holds.set(k, (holds.get(k) ?? 0n) + o.holdRemaining);
    } else assert.equal(o.holdRemaining, 0n, `finished order ${o.orderId} kept a hold`);
  }
  for (const a of core.ledger.accounts()) {
    for (const [ccy, b] of core.ledger.balances(a)) {
      assert.ok(b.available >= 0n && b.hold >= 0n);
      assert.equal(b.hold, holds.get(`${a}/${ccy}`) ?? 0n, `hold of ${a} ${ccy}`);
    }
  }
  // The books never cross.
  for (const s of SYMBOLS) {
    const best = core.bestPrices(s);
    if (best.bid && best.ask) assert.ok(best.bid < best.ask, `${s} crossed`);
  }
}

describe("TradingCore", () => {
  it("conserves every currency, explains every hold and never crosses (property)", () => {
    fc.assert(
      fc.property(recordsArb, (records) => {
        const core = new TradingCore(options());
        const deposited = new Map<string, bigint>();
        for (const r of records) {
          core.apply(r);
          if (r.t === "deposit") deposited.set(r.currency, (deposited.get(r.currency) ?? 0n) + BigInt(r.amount));
          checkInvariants(core, deposited);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("no account trades with another account of the same identity (e-ID self-trade prevention)", () => {
    fc.assert(
      fc.property(recordsArb, (records) => {
        const core = new TradingCore(options());
        core.subscribe((e) => {
          if (e.kind !== "trade") return;
          const maker = core.order(e.makerOrderId)!;
          const taker = core.order(e.takerOrderId)!;
          assert.notEqual(maker.identityHash, taker.identityHash);
        });
        for (const r of records) core.apply(r);
      }),
      { numRuns: 100 },
    );
  });

  it("is deterministic: replay gives the same state, and snapshot + tail = never stopped", () => {
    fc.assert(
      // Short retentions (records are 250 ms apart) make finished orders expire mid-stream.
      fc.property(recordsArb, fc.nat(), fc.constantFrom(undefined, 1_000, 5_000), (records, cut, orderRetentionMs) => {
        const opts = () => ({ ...options(), orderRetentionMs });
        const a = new TradingCore(opts());
        for (const r of records) a.apply(r);
        const b = new TradingCore(opts());
        for (const r of records) b.apply(r);
        const json = (c: TradingCore) => JSON.stringify(c.snapshot());
        assert.equal(json(b), json(a));
        const k = records.length === 0 ? 0 : cut % records.length;
        const head = new TradingCore(opts());
        for (const r of records.slice(0, k)) head.apply(r);
        const restored = TradingCore.restore(JSON.parse(JSON.stringify(head.snapshot())), opts());
        for (const r of records.slice(k)) restored.apply(r);
        assert.equal(json(restored), json(a));
      }),
      { numRuns: 60 },
    );
  });

  it("forgets finished orders after the retention, in record time; open orders stay", () => {
    const core = new TradingCore({ ...options(), orderRetentionMs: 60_000 });
    core.apply({ t: "deposit", ts: 0, accountId: "s", currency: "VGB30", amount: "100", ref: "d1" });
    core.apply({ t: "deposit", ts: 0, accountId: "b", currency: "VND", amount: "100000000", ref: "d2" });
    const place = (orderId: string, accountId: string, side: "buy" | "sell", size: number, ts: number) =>
      core.apply({ t: "place", ts, orderId, accountId, identityHash: accountId, symbol: "VGB30-VND", side, type: "limit", price: 10_000, size, tif: "GTC", postOnly: false, stp: "CN", clientOid: `c-${orderId}` });
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
    core.apply({ t: "place", ts: 10_000_001, orderId: "05", accountId: "b", identityHash: "b", symbol: "VGB30-VND", side: "buy", type: "limit", price: 9_000, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: "c-02" });
    assert.equal(core.orderByClientOid("b", "c-02")?.orderId, "05");
  });

  it("keeps the settlement transaction and the order type on both fills, also across an older snapshot", () => {
    const core = new TradingCore({ ...options(), orderRetentionMs: 1_000 });
    core.apply({ t: "deposit", ts: 0, accountId: "s", currency: "VGB30", amount: "10", ref: "d1" });
    core.apply({ t: "deposit", ts: 0, accountId: "b", currency: "VND", amount: "10000000", ref: "d2" });
    core.apply({ t: "place", ts: 1, orderId: "01", accountId: "s", identityHash: "s", symbol: "VGB30-VND", side: "sell", type: "limit", price: 10_000, size: 2, tif: "GTC", postOnly: false, stp: "CN", clientOid: "s1" });
    core.apply({ t: "place", ts: 2, orderId: "02", accountId: "b", identityHash: "b", symbol: "VGB30-VND", side: "buy", type: "market", size: 2, tif: "GTC", postOnly: false, stp: "CN", clientOid: "b1" });
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
    core.apply({ t: "deposit", ts, accountId: "s", currency: "VGB30", amount: "100", ref: "d1" });
    core.apply({ t: "deposit", ts, accountId: "b", currency: "VND", amount: "10000000", ref: "d2" });
    const place = (orderId: string, accountId: string, side: "buy" | "sell", price: number, size: number) =>
      core.apply({ t: "place", ts, orderId, accountId, identityHash: accountId, symbol: "VGB30-VND", side, type: "limit", price, size, tif: "GTC", postOnly: false, stp: "CN", clientOid: orderId });
    place("01", "s", "sell", 10_000, 3);
    place("02", "b", "buy", 10_100, 3); // takes 3 @ 10,000: notional 30,000
    // taker (buyer) 20 bps: 60 đồng; maker (seller) 10 bps: 30 đồng
    assert.equal(core.ledger.balance("b", "VND").available, 10_000_000n - 30_000n - 60n);
    assert.equal(core.ledger.balance("b", "VND").hold, 0n);
    assert.equal(core.ledger.balance("s", "VND").available, 30_000n - 30n);
    assert.equal(core.ledger.balance(FEES, "VND").available, 90n);
    assert.equal(core.ledger.balance("b", "VGB30").available, 3n);
    assert.equal(core.fills("b")[0].liquidity, "taker");
    assert.equal(core.fills("s")[0].fee, 30n);
  });

  it("halts a symbol on a price move beyond the volatility band, for the halt period", () => {
    const core = new TradingCore(options());
    core.apply({ t: "deposit", ts: 0, accountId: "s", currency: "VGB30", amount: "100", ref: "d1" });
    core.apply({ t: "deposit", ts: 0, accountId: "b", currency: "VND", amount: "100000000", ref: "d2" });
    const trade = (n: number, price: number, ts: number) => {
      core.apply({ t: "place", ts, orderId: `s${n}`, accountId: "s", identityHash: "s", symbol: "VGB30-VND", side: "sell", type: "limit", price, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: `s${n}` });
      core.apply({ t: "place", ts, orderId: `b${n}`, accountId: "b", identityHash: "b", symbol: "VGB30-VND", side: "buy", type: "limit", price, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: `b${n}` });
    };
    trade(1, 10_000, 1_000);
    trade(2, 11_000, 2_000); // +10%: within the 20% band
    assert.equal(core.isHalted("VGB30-VND", 2_000), false);
    trade(3, 12_500, 3_000); // +25% from the oldest trade in the window
    assert.equal(core.isHalted("VGB30-VND", 3_000), true);
    assert.equal(core.isHalted("VGB30-VND", 3_000 + 30_000), false);
  });
});
