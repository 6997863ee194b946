import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveSurveillanceConfig } from "./config.ts";
import { createSpoofingDetector } from "./spoofing.ts";
import { Scenario, run, trader } from "./testing/scenario.ts";
import type { Trader } from "./testing/scenario.ts";

const config = resolveSurveillanceConfig();
const S = trader("spoofer");
const B = trader("bob");

/** A symbol with 30 ordinary orders of 1–2 units around 25,000 VND (median 1.5). */
function market(): Scenario {
  const s = new Scenario();
  for (let i = 0; i < 30; i++) s.wait(0.5).place({ trader: trader(`t${i}`), side: i % 2 ? "buy" : "sell", price: i % 2 ? "24990" : "25010", qty: i % 3 === 0 ? "1" : i % 3 === 1 ? "1.5" : "2", refPrice: "25000" });
  return s;
}

function spoofBuy(s: Scenario, t: Trader = S, price = "24500", qty = "50"): string {
  return s.place({ trader: t, side: "buy", price, qty, refPrice: "25000" });
}

describe("SPOOFING", () => {
  it("fires once: large buy away from the touch, a sell fill, then a quick cancel", () => {
    const s = market();
    s.wait(1);
    const large = spoofBuy(s);
    const accepted = s.events[s.events.length - 1];
    s.wait(5);
    const { taker } = s.trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2", refPrice: "25000" });
    s.wait(3);
    const cancel = s.cancel(large);
    const alerts = run(s.events, createSpoofingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.rule, "SPOOFING");
    assert.deepEqual(a.identityHashes, ["id-spoofer"]);
    assert.deepEqual(a.eventSeqs, [accepted.seq, taker.seq, cancel.seq]);
    assert.equal(a.alertId, `SPOOFING-${accepted.seq}-${cancel.seq}`);
    assert.equal(a.ts, cancel.ts);
    assert.equal(a.detail.side, "buy");
    assert.match(a.summary, /200 bps from the reference price 25000/);
  });

  it("reports layered orders in one alert", () => {
    const s = market();
    const layers = [spoofBuy(s, S, "24500"), spoofBuy(s, S, "24450"), spoofBuy(s, S, "24400")];
    s.wait(2).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2" });
    s.wait(1);
    for (const id of layers) s.cancel(id);
    const alerts = run(s.events, createSpoofingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    assert.equal((alerts[0].detail.orders as unknown[]).length, 3);
    assert.equal(alerts[0].eventSeqs.length, 5); // 3 accepted, 1 fill, the first cancel
  });

  it("fires on notional alone before the symbol has a median", () => {
    const s = new Scenario();
    const large = spoofBuy(s, S, "24000", "50000"); // 1.2 bn VND, 400 bps away
    s.wait(1).trade({ taker: S, maker: B, side: "sell", price: "25000", qty: "1" });
    s.wait(1).cancel(large);
    assert.equal(run(s.events, createSpoofingDetector(config).onEvent).length, 1);
  });

  it("does not fire when the large order rests and is filled", () => {
    const s = market();
    const large = spoofBuy(s);
    s.wait(5).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2" });
    const sellOrder = s.place({ trader: trader("carol"), side: "sell", price: "24500", qty: "10" });
    s.fill({ taker: trader("carol"), maker: S, side: "sell", price: "24500", qty: "10", takerOrderId: sellOrder, makerOrderId: large });
    s.wait(2).cancel(large);
    assert.equal(run(s.events, createSpoofingDetector(config).onEvent).length, 0);
  });

  it("does not fire when cancelled without an opposite-side trade", () => {
    const s = market();
    const large = spoofBuy(s);
    s.wait(5).trade({ taker: S, maker: B, side: "buy", price: "25010", qty: "2" }); // same side
    s.wait(2).cancel(large);
    assert.equal(run(s.events, createSpoofingDetector(config).onEvent).length, 0);
  });

  it("does not fire when cancelled after the window", () => {
    const s = market();
    const large = spoofBuy(s);
    s.wait(55).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2" });
    s.wait(8).cancel(large); // 63 s after placement
    assert.equal(run(s.events, createSpoofingDetector(config).onEvent).length, 0);
  });

  it("does not fire when the cancel comes long after the opposite fill", () => {
    const s = market();
    const large = spoofBuy(s);
    s.wait(5).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2" });
    s.wait(15).cancel(large);
    assert.equal(run(s.events, createSpoofingDetector(config).onEvent).length, 0);
  });

  it("does not fire for a large order at the touch, nor for an ordinary-size order", () => {
    const s = market();
    const nearTouch = spoofBuy(s, S, "24990");
    const small = spoofBuy(s, S, "24500", "2");
    s.wait(2).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2" });
    s.wait(1).cancel(nearTouch);
    s.cancel(small);
    assert.equal(run(s.events, createSpoofingDetector(config).onEvent).length, 0);
  });

  it("does not count an operator's kill-switch cancel", () => {
    const s = market();
    const large = spoofBuy(s);
    s.wait(2).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2" });
    s.wait(1).cancel(large, "killSwitch");
    assert.equal(run(s.events, createSpoofingDetector(config).onEvent).length, 0);
  });
});

describe("SPOOFING with stop orders and amendments", () => {
  it("does not fire on a large away stop: waiting for its trigger it is not in the book", () => {
    const s = market();
    const stop = s.place({ trader: S, side: "buy", price: "24500", qty: "50", refPrice: "25000", orderType: "stop-limit" });
    s.wait(2).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2", refPrice: "25000" });
    s.wait(1).cancel(stop);
    assert.equal(run(s.events, createSpoofingDetector(config).onEvent).length, 0);
  });

  it("fires when a small order is amended into a large away one, an opposite fill follows, then the cancel", () => {
    const s = market();
    const id = s.place({ trader: S, side: "buy", price: "24990", qty: "1", refPrice: "25000" });
    s.wait(1);
    const amended = s.amend(id, { price: "24500", qty: "50" });
    const { taker } = s.wait(2).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2", refPrice: "25000" });
    const cancel = s.wait(1).cancel(id);
    const alerts = run(s.events, createSpoofingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    assert.deepEqual(alerts[0].eventSeqs, [amended.seq, taker.seq, cancel.seq]);
  });

  it("fires when the large away order is amended down to a small one after the opposite fill (withdrawn without a cancel)", () => {
    const s = market();
    const large = spoofBuy(s);
    s.wait(2).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2", refPrice: "25000" });
    const cut = s.wait(1).amend(large, { qty: "1" });
    const alerts = run(s.events, createSpoofingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].ts, cut.ts);
    assert.match(alerts[0].summary, /amended away/);
    // Still large and away after an amendment: it keeps waiting for its cancel.
    const t = market();
    const still = spoofBuy(t);
    t.wait(1).amend(still, { price: "24400" });
    t.wait(1).trade({ taker: S, maker: B, side: "sell", price: "25010", qty: "2", refPrice: "25000" });
    assert.equal(run(t.events, createSpoofingDetector(config).onEvent).length, 0);
    t.wait(1).cancel(still);
    assert.equal(run(t.events, createSpoofingDetector(config).onEvent).length, 1);
  });
});
