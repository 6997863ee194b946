import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TradingEvent } from "../trading/events.ts";
import { MarketData } from "./marketData.ts";

const trade = (i: number) => ({ kind: "trade", symbol: "GOLD-VND", sequence: i, tradeId: `t${i}`, price: 10_000 + i, size: 1, side: i % 2 ? "buy" : "sell", ts: 1_733_300_000_000 + i }) as unknown as TradingEvent;

describe("market data recent trades", () => {
  it("keeps the newest 1,000 trades, newest first, one in one out", () => {
    const md = new MarketData(["GOLD-VND"], () => 1n);
    for (let i = 1; i <= 2_345; i++) md.handle(trade(i));
    const all = md.trades("GOLD-VND", 5_000);
    assert.equal(all.length, 1_000);
    assert.deepEqual(all.map((t) => t.sequence), Array.from({ length: 1_000 }, (_, k) => 2_345 - k));
    assert.equal(md.lastTrade("GOLD-VND")?.tradeId, "t2345");
    assert.deepEqual(md.trades("GOLD-VND", 3).map((t) => t.tradeId), ["t2345", "t2344", "t2343"]);
    const saved = md.snapshot() as Array<{ trades: Array<{ sequence: number }> }>;
    assert.equal(saved[0].trades.length, 1_000);
    assert.equal(saved[0].trades[0].sequence, 1_346);
  });
});
