import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { TradingEvent } from "../trading/events.ts";
import { CandleStore, bucketStart, nextBucket } from "./candleStore.ts";

const dir = mkdtempSync(path.join(tmpdir(), "sen-candles-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
function trade(ts: number, price: number, size: number, symbol = "GOLD-VND"): Extract<TradingEvent, { kind: "trade" }> {
  return { kind: "trade", symbol, tradeId: String(++seq), price, size, side: "buy", makerOrderId: "m", takerOrderId: "t", ts, sequence: seq, funds: BigInt(price * size), sellerTax: 0n };
}
/** Applied and durable, as the trading service reports a journaled trade. */
function feed(store: CandleStore, e: TradingEvent): void {
  store.record(e);
  store.durable(e);
}
const utc = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);

describe("candle store", () => {
  it("buckets: epoch-aligned widths (1week starts Thursday, as KuCoin), calendar months in UTC", () => {
    assert.equal(bucketStart("1min", utc(2026, 3, 5, 10, 7) + 59_999), utc(2026, 3, 5, 10, 7));
    assert.equal(bucketStart("4hour", utc(2026, 3, 5, 10, 7)), utc(2026, 3, 5, 8));
    assert.equal(new Date(bucketStart("1week", utc(2026, 3, 4))).getUTCDay(), 4, "Thursday");
    assert.equal(bucketStart("1week", utc(2026, 3, 4)), utc(2026, 2, 26));
    assert.equal(bucketStart("1month", utc(2026, 3, 31, 23, 59) + 59_999), utc(2026, 3, 1));
    assert.equal(bucketStart("1month", utc(2026, 4, 1)), utc(2026, 4, 1));
    assert.equal(nextBucket("1month", utc(2024, 2, 1)), utc(2024, 3, 1), "leap February");
    assert.equal(nextBucket("1month", utc(2026, 12, 1)), utc(2027, 1, 1), "year boundary");
  });

  it("aggregates open/close/high/low/volume/turnover across minutes, hours, days and months", () => {
    const store = new CandleStore({ file: ":memory:" });
    feed(store, trade(utc(2026, 1, 31, 23, 59), 100, 1)); // last minute of January
    feed(store, trade(utc(2026, 2, 1, 0, 0), 110, 2)); // first minute of February
    feed(store, trade(utc(2026, 2, 1, 0, 0) + 30_000, 90, 3));
    feed(store, trade(utc(2026, 2, 28, 23, 0), 120, 4));
    feed(store, trade(utc(2026, 3, 1, 0, 0), 130, 5));
    const all = (type: Parameters<CandleStore["candles"]>[1]) => store.candles("GOLD-VND", type, 0, utc(2027, 1, 1));
    assert.deepEqual(all("1month"), [
      [utc(2026, 1, 1), 100, 100, 100, 100, 1, 100n],
      [utc(2026, 2, 1), 110, 120, 120, 90, 9, 220n + 270n + 480n],
      [utc(2026, 3, 1), 130, 130, 130, 130, 5, 650n],
    ]);
    assert.deepEqual(all("1min")[1], [utc(2026, 2, 1), 110, 90, 110, 90, 5, 490n]);
    assert.equal(all("1min").length, 4);
    assert.deepEqual(all("1day").map((c) => c[0]), [utc(2026, 1, 31), utc(2026, 2, 1), utc(2026, 2, 28), utc(2026, 3, 1)]);
    // Week of Thursday 29 January holds the January and early-February trades.
    assert.deepEqual(all("1week")[0], [utc(2026, 1, 29), 100, 90, 110, 90, 6, 590n]);
    assert.deepEqual(all("12hour").map((c) => c[5]), [1, 5, 4, 5]);
    // Limits: the latest by default, the earliest when paging forward.
    assert.deepEqual(store.candles("GOLD-VND", "1min", 0, utc(2027, 1, 1), 2).map((c) => c[0]), [utc(2026, 2, 28, 23), utc(2026, 3, 1)]);
    assert.deepEqual(store.candles("GOLD-VND", "1min", 0, utc(2027, 1, 1), 2, "first").map((c) => c[0]), [utc(2026, 1, 31, 23, 59), utc(2026, 2, 1)]);
    // A range inside one candle returns that candle; other symbols see nothing.
    assert.deepEqual(store.candleAt("GOLD-VND", "1month", utc(2026, 2, 14)), all("1month")[1]);
    assert.deepEqual(store.candles("RIVER-VND", "1min", 0, utc(2027, 1, 1)), []);
    store.close();
  });

  it("writes only durable trades, is idempotent by trade sequence, and keeps applied-but-unwritten trades in the snapshot", () => {
    const file = path.join(dir, "candles.sqlite");
    const t0 = utc(2026, 5, 1, 12);
    const a = new CandleStore({ file, flushMs: 60_000 });
    const first = [trade(t0, 100, 1), trade(t0 + 1_000, 101, 1)];
    for (const e of first) feed(a, e);
    const undelivered = trade(t0 + 2_000, 102, 1);
    a.record(undelivered); // applied, its record not yet durable
    assert.equal(a.candles("GOLD-VND", "1min", t0, t0)[0][5], 2, "the non-durable trade is not counted");
    const snapshot = a.snapshot(); // written by the trading service once the journal holds it
    a.close();

    // Restart from that snapshot: the journal replay repeats the trades after the snapshot's
    // record; an older snapshot would repeat some the store already holds.
    const b = new CandleStore({ file, flushMs: 60_000 });
    b.restore(JSON.parse(JSON.stringify(snapshot)));
    for (const e of [...first, undelivered]) b.record(e); // replay from an older position: all repeated
    const later = trade(t0 + 3_000, 99, 5);
    b.record(later);
    b.markDurable(later.sequence); // after replay: everything replayed is durable
    assert.deepEqual(b.candles("GOLD-VND", "1min", t0, t0), [[t0, 100, 99, 102, 99, 8, 100n + 101n + 102n + 495n]]);
    b.close();
    const c = new CandleStore({ file });
    assert.equal(c.candles("GOLD-VND", "1hour", t0, t0)[0][5], 8, "persisted, counted once");
    c.close();
  });

  it("batches: a trade costs no write until the batch is due, then one transaction", async () => {
    const store = new CandleStore({ file: path.join(dir, "batch.sqlite"), flushMs: 20, flushTrades: 1_000_000 });
    const t0 = utc(2026, 6, 1);
    const n = 50_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) feed(store, trade(t0 + i * 1_000, 1_000 + (i % 50), 1));
    const perTrade = (performance.now() - started) / n;
    const flushStarted = performance.now();
    store.flush();
    const flushMs = performance.now() - flushStarted;
    // Rough figures for the report; the bound only catches a per-trade disk write.
    console.log(`candle store: ${(perTrade * 1000).toFixed(2)} µs per trade on the hot path, ${flushMs.toFixed(0)} ms to write ${n} trades`);
    assert.ok(perTrade < 0.05, `${perTrade} ms per trade`);
    assert.equal(store.candles("GOLD-VND", "1day", t0, t0)[0][5], n);
    store.close();
  });
});
