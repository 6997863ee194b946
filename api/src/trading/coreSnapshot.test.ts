import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import type { TradingRecord } from "../records/tradingRecords.ts";
import { TradingCore, type TradingCoreOptions, type TradingCoreSnapshot } from "./tradingCore.ts";
import { limitPlaceRecord } from "./testing/limitOrders.ts";
import { formValue } from "../journal/jsonCodec.ts";

const options = (): TradingCoreOptions => ({ catalog: defaultCatalog(), feeAccount: "fees", taxAccount: "tax", volatility: { windowMs: 60_000, bandBps: 2_000, haltMs: 30_000 }, orderRetentionMs: 10_000 });
const place = (ts: number, orderId: string, accountId: string, side: "buy" | "sell", price: number, size: number, stop?: { stopPrice: number; kind: "loss" | "entry" }): TradingRecord =>
  limitPlaceRecord(ts, orderId.padStart(24, "0"), { accountId, side, price, size, clientOid: `c-${orderId}` }, stop);
const tradeId = (n: number) => n.toString(16).padStart(24, "0");

/** A little of everything each part of the core keeps: orders (open, finished, a waiting stop), fills, settlement, halts, freezes, funding, tax. */
const RECORDS: TradingRecord[] = [
  { t: "taxPolicy", ts: 1, rateBps: 10, source: "config", by: "test" },
  { t: "deposit", ts: 2, accountId: "s", currency: "GOLD", amount: "100", ref: "d1" },
  { t: "deposit", ts: 3, accountId: "b", currency: "VND", amount: "100000000", ref: "d2" },
  { t: "deposit", ts: 4, accountId: "c", currency: "VND", amount: "5000000", ref: "d3" },
  place(10, "1", "s", "sell", 10_000, 3),
  place(11, "2", "b", "buy", 10_000, 2),
  place(12, "3", "b", "buy", 10_000, 1),
  place(13, "4", "s", "sell", 9_000, 3, { stopPrice: 9_500, kind: "loss" }),
  place(14, "5", "b", "buy", 9_900, 1),
  { t: "settled", ts: 20, tradeIds: [tradeId(1)], txHash: "0xfeed" },
  { t: "settleFailed", ts: 21, tradeId: tradeId(2), reason: "ERC7943CannotReceive" },
  { t: "withdrawRequest", ts: 22, withdrawalId: "w1", accountId: "c", currency: "VND", amount: "1000" },
  { t: "withdrawRequest", ts: 23, withdrawalId: "w2", accountId: "c", currency: "VND", amount: "2000" },
  { t: "withdrawDone", ts: 24, withdrawalId: "w1", txHash: "0xw1" },
  place(30, "6", "s", "sell", 12_500, 1),
  place(31, "7", "b", "buy", 12_500, 1), // +25% within the window: a volatility halt
  { t: "accountStatus", ts: 40, accountId: "c", frozen: true, reason: "kill switch" },
];

/** Everything but the matching engine's part, whose format is the engine's (matching-engine/). */
const coreParts = (s: TradingCoreSnapshot) => JSON.stringify({ ...s, engine: undefined });

describe("trading core snapshot format", () => {
  it("keeps the on-disk shape: the same keys in the same order, and the same JSON for the same records", () => {
    const core = new TradingCore(options());
    for (const r of RECORDS) assert.equal(core.apply(r).ok, true, JSON.stringify(r));
    assert.ok(core.isHalted("GOLD-VND", 40), "the stream halts the market");
    assert.equal(core.failedSettlements().next().value?.tradeId, tradeId(2));
    const snapshot = core.snapshot();
    assert.deepEqual(Object.keys(snapshot), ["version", "engine", "ledger", "orders", "counters", "deposits", "frozen", "markets", "fills", "unsettled", "withdrawals", "failedSettlements", "finished", "taxRateBps", "listings", "depositHistory"]);
    // Saved snapshots must go on restoring: a change of this digest is a change of the snapshot
    // format, which needs a new version (and a reader for the old one), not a new digest here.
    assert.equal(createHash("sha256").update(coreParts(snapshot)).digest("hex"), PINNED);
    assert.equal(coreParts(core.snapshot({ full: true })), coreParts(snapshot));
  });

  it("restores from its JSON to the same state, part by part", () => {
    const core = new TradingCore(options());
    for (const r of RECORDS) core.apply(r);
    const json = JSON.stringify(core.snapshot());
    const restored = TradingCore.restore(JSON.parse(json) as TradingCoreSnapshot, options());
    assert.equal(JSON.stringify(restored.snapshot()), json);
    // the waiting stop is rebuilt from its order and still triggers
    const stop = restored.order(tradeId(4));
    assert.equal(stop?.stop?.triggered, false);
    restored.apply({ t: "marketStatus", ts: 50, symbol: "GOLD-VND", halted: false, reason: "resumed" });
    restored.apply(place(51, "8", "s", "sell", 9_400, 2)); // 1 to the resting buy at 9,900, 1 rests at 9,400
    restored.apply(place(52, "9", "b", "buy", 9_400, 1));
    assert.equal(restored.order(tradeId(4))?.stop?.triggered, true);
  });

  it("a custody debit adds its references last and an owing ledger row its fifth column, only when there are some; both restore", () => {
    const core = new TradingCore(options());
    for (const r of RECORDS) core.apply(r);
    const before = core.snapshot();
    // More than "c" has: its pending withdrawal's hold stays, the rest is owed.
    assert.ok(core.apply({ t: "custodyDebit", ts: 60, accountId: "c", currency: "VND", amount: "5000000", ref: "vault:0xV:0xt:1", kind: "seized", to: "0xcourt", txHash: "0xt" }).ok);
    const after = core.snapshot();
    assert.deepEqual(Object.keys(after), [...Object.keys(before), "custodyDebits"]);
    assert.deepEqual(after.custodyDebits, ["vault:0xV:0xt:1"]);
    assert.deepEqual(after.ledger.find(([a, c]) => a === "c" && c === "VND"), ["c", "VND", "0", "2000", "3000"]);
    const json = JSON.stringify(after);
    const restored = TradingCore.restore(JSON.parse(json) as TradingCoreSnapshot, options());
    assert.equal(JSON.stringify(restored.snapshot()), json);
  });

  it("restores snapshots that list the orders in placement order (before 2026-12-04) to the same state", () => {
    const core = new TradingCore(options());
    for (const r of RECORDS) core.apply(r);
    const now = JSON.parse(JSON.stringify(core.snapshot())) as TradingCoreSnapshot;
    const orders = now.orders.map(formValue);
    assert.ok(orders.some((o, i) => i > 0 && o.orderId < orders[i - 1].orderId), "today's list is not in placement order (open ones first)");
    const old = { ...now, orders: [...orders].sort((a, b) => (a.orderId < b.orderId ? -1 : 1)) };
    const a = TradingCore.restore(now, options());
    const b = TradingCore.restore(old, options());
    assert.equal(JSON.stringify(b.snapshot()), JSON.stringify(a.snapshot()));
    assert.deepEqual(b.accountOrders("b").map((o) => o.orderId), core.accountOrders("b").map((o) => o.orderId));
    assert.deepEqual(a.accountOrders("b").map((o) => o.orderId), core.accountOrders("b").map((o) => o.orderId));
  });
});

// 2026-12-04: the orders list open orders first, then finished ones in finishing order (was:
// all in placement order), so a capture reuses the finished orders' forms without visiting
// them; same keys and records, and restore reads both orders (test above), so still version 1.
const PINNED = "0d36207b9b837c76d96e649c9633210671d2ce8f2b2eda52e7ff6e9bb3487aa7";
