import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KucoinFormat } from "../http/kucoinFormat.ts";
import { CandleStore } from "../marketdata/candleStore.ts";
import { MarketData } from "../marketdata/marketData.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import type { TradingEvent } from "../trading/events.ts";
import { MarketStreams } from "./marketStreams.ts";

const SYMBOL = "GOLD-VND";
const T0 = Date.UTC(2026, 2, 5, 12, 0);

/** The streams over a real catalog, formatter, market-data mirror and candle store; `sent` is what went out per topic. */
function setup(topics: string[]) {
  const catalog = defaultCatalog();
  const marketData = new MarketData(catalog.markets.keys(), () => 1n);
  const candles = new CandleStore({ file: ":memory:", flushMs: 60_000 });
  const errors: unknown[] = [];
  const sent: Array<{ topic: string; msg: { subject: string; data: Record<string, unknown> } }> = [];
  const ctx = { catalog, format: new KucoinFormat(catalog), marketData, candles, now: () => T0 + 120_000, logger: { error: (o: unknown) => errors.push(o) } };
  const streams = new MarketStreams(ctx, { has: (t) => topics.includes(t), fanout: (topic, text) => sent.push({ topic, msg: JSON.parse(text) }) });
  let seq = 0;
  const trade = (ts: number, price: number, size: number) => {
    const e: TradingEvent = { kind: "trade", symbol: SYMBOL, tradeId: String(++seq), price, size, side: "buy", makerOrderId: "m", takerOrderId: "t", ts, sequence: seq, funds: BigInt(price * size), sellerTax: 0n };
    marketData.handle(e);
    candles.record(e);
    candles.durable(e); // journaled and delivered, as the gateway sees it
    streams.traded(SYMBOL, ts);
  };
  const level = (side: "buy" | "sell", price: number, size: number) => marketData.handle({ kind: "l2", symbol: SYMBOL, side, price, size, ts: T0 });
  return { streams, sent, trade, level, candles, errors };
}

describe("market streams", () => {
  it("a tick across a candle boundary sends the closed candle's final state before the new one", () => {
    const topic = `/market/candles:${SYMBOL}_1min`;
    const { streams, sent, trade } = setup([topic]);
    trade(T0 + 30_000, 10_000, 1);
    streams.publish(SYMBOL);
    sent.length = 0;
    trade(T0 + 59_900, 10_100, 2); // last trade of 12:00, in the same 100 ms tick as the next one
    trade(T0 + 60_100, 10_200, 3);
    streams.publish(SYMBOL);
    assert.deepEqual(
      sent.map((s) => [s.msg.subject, ...(s.msg.data.candles as string[])]),
      [
        ["trade.candles.update", String(T0 / 1000), "10000", "10100", "10100", "10000", "3", "30200"],
        ["trade.candles.add", String((T0 + 60_000) / 1000), "10200", "10200", "10200", "10200", "3", "30600"],
        ["trade.candles.update", String((T0 + 60_000) / 1000), "10200", "10200", "10200", "10200", "3", "30600"],
      ],
    );
  });

  it("a failed candle read is reported, not thrown from the gateway's timer; the other topics still go out", () => {
    const candlesTopic = `/market/candles:${SYMBOL}_1min`;
    const l1 = `/spotMarket/level1:${SYMBOL}`;
    const { streams, sent, trade, level, candles, errors } = setup([l1, candlesTopic]);
    level("buy", 9_900, 1);
    trade(T0, 10_000, 1);
    candles.close(); // stands for any read error of the candle database
    assert.doesNotThrow(() => streams.publish(SYMBOL));
    assert.equal(errors.length, 1);
    assert.deepEqual(sent.map((s) => s.topic), [l1]);
  });

  it("level2Depth5/50: the best levels of a deep book, best first, the same as a full sort", () => {
    const d5 = `/spotMarket/level2Depth5:${SYMBOL}`;
    const d50 = `/spotMarket/level2Depth50:${SYMBOL}`;
    const { streams, sent, level } = setup([d5, d50]);
    // 3,000 levels a side, added in no price order; a few removed.
    const prices = Array.from({ length: 3_000 }, (_, i) => ((i * 7_919) % 3_000) + 1);
    for (const p of prices) {
      level("buy", p * 100, p);
      level("sell", (3_000 + p) * 100, p);
    }
    level("buy", 3_000 * 100, 0);
    level("sell", 3_001 * 100, 0);
    streams.traded(SYMBOL, T0);
    streams.publish(SYMBOL);
    const bids = prices.filter((p) => p !== 3_000).sort((a, b) => b - a);
    const asks = prices.filter((p) => p !== 1).sort((a, b) => a - b);
    const want = (n: number) => ({
      bids: bids.slice(0, n).map((p) => [String(p * 100), String(p)]),
      asks: asks.slice(0, n).map((p) => [String((3_000 + p) * 100), String(p)]),
    });
    const byTopic = new Map(sent.map((s) => [s.topic, s.msg]));
    assert.equal(byTopic.get(d5)?.subject, "level2");
    assert.deepEqual({ bids: byTopic.get(d5)?.data.bids, asks: byTopic.get(d5)?.data.asks }, want(5));
    assert.deepEqual({ bids: byTopic.get(d50)?.data.bids, asks: byTopic.get(d50)?.data.asks }, want(50));
    assert.deepEqual(streams.initial(d5, () => 0).map((t) => JSON.parse(t).data.asks), [want(5).asks], "the first message after the ack: the same book");
  });
  it("best bid/ask (level1, tickers) follow a book whose best levels come and go", () => {
    const l1 = `/spotMarket/level1:${SYMBOL}`;
    const { streams, sent, level } = setup([l1]);
    const bids = new Map<number, number>();
    const asks = new Map<number, number>();
    let x = 12_345;
    const rnd = (n: number) => (x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
    for (let i = 0; i < 3_000; i++) {
      const buy = rnd(2) === 0;
      const price = (buy ? 1 + rnd(60) : 61 + rnd(60)) * 100;
      const size = rnd(3) === 0 ? 0 : 1 + rnd(9);
      const side = buy ? bids : asks;
      if (size === 0) side.delete(price);
      else side.set(price, size);
      level(buy ? "buy" : "sell", price, size);
      if (i % 7 !== 0) continue;
      sent.length = 0;
      streams.traded(SYMBOL, T0);
      streams.publish(SYMBOL);
      const [text] = streams.initial(l1, () => 0);
      const best = (m: Map<number, number>, dir: number) => [...m].sort((a, b) => dir * (a[0] - b[0]))[0];
      const b = best(bids, -1);
      const a = best(asks, 1);
      assert.deepEqual(JSON.parse(text).data.bids, b ? [String(b[0]), String(b[1])] : [], `bids after change ${i}`);
      assert.deepEqual(JSON.parse(text).data.asks, a ? [String(a[0]), String(a[1])] : [], `asks after change ${i}`);
    }
  });
});
