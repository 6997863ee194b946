import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveSurveillanceConfig } from "./config.ts";
import { createQuoteStuffingDetector } from "./quoteStuffing.ts";
import { Scenario, run, trader } from "./testing/scenario.ts";

const config = resolveSurveillanceConfig();
const Q = trader("stuffer");

describe("QUOTE_STUFFING", () => {
  it("fires once for a burst of 600 place/cancel messages in under 10 s with no trade", () => {
    const s = new Scenario();
    for (let i = 0; i < 300; i++) s.wait(0.01).cancel(s.place({ trader: Q, side: "buy", price: "24990", qty: "1" }));
    const first = s.events.find((e) => e.type === "order.received")!;
    const alerts = run(s.events, createQuoteStuffingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.rule, "QUOTE_STUFFING");
    assert.deepEqual(a.identityHashes, ["id-stuffer"]);
    assert.equal(a.detail.variant, "burst");
    assert.equal(a.detail.messages, 500);
    assert.equal(a.eventSeqs[0], first.seq);
    assert.match(a.summary, /500 order messages in VNM-VND within 10 s against 0 trade/);
  });

  it("counts amendments, refused ones too (as a refused placement counts by its order.received)", () => {
    const s = new Scenario();
    const id = s.place({ trader: Q, side: "buy", price: "24990", qty: "1" });
    for (let i = 0; i < 300; i++) s.wait(0.01).amend(id, { price: i % 2 ? "24980" : "24990" });
    for (let i = 0; i < 250; i++) s.wait(0.01).amendRefused(id, { price: "24970" });
    const alerts = run(s.events, createQuoteStuffingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].detail.messages, 500);
  });

  it("counts one identity across its wallets", () => {
    const s = new Scenario();
    const w1 = trader("stuffer", "w1");
    const w2 = trader("stuffer", "w2");
    for (let i = 0; i < 300; i++) s.wait(0.01).cancel(s.place({ trader: i % 2 ? w1 : w2, side: "buy", price: "24990", qty: "1" }));
    const alerts = run(s.events, createQuoteStuffingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    assert.deepEqual(alerts[0].accounts, ["w1", "w2"]);
  });

  it("does not fire for a market maker with a high message rate and a reasonable fill rate", () => {
    const s = new Scenario();
    const mm = trader("mm");
    for (let i = 0; i < 300; i++) {
      s.wait(0.01).cancel(s.place({ trader: mm, side: i % 2 ? "buy" : "sell", price: "25000", qty: "1" }));
      if (i % 30 === 0) s.trade({ taker: trader(`t${i}`), maker: mm, side: "buy", price: "25000", qty: "1" });
    }
    assert.equal(run(s.events, createQuoteStuffingDetector(config).onEvent).length, 0);
  });

  it("does not fire for a burst below the message threshold", () => {
    const s = new Scenario();
    for (let i = 0; i < 240; i++) s.wait(0.01).cancel(s.place({ trader: Q, side: "buy", price: "24990", qty: "1" }));
    assert.equal(run(s.events, createQuoteStuffingDetector(config).onEvent).length, 0);
  });

  it("does not fire for a steady flow below the burst rate with an OTR below 250:1", () => {
    // 1,005 messages over 250 s (about 40 per 10 s) against 5 trades: OTR 201 < 250.
    const s2 = new Scenario();
    for (let i = 0; i < 5; i++) s2.trade({ taker: Q, maker: trader(`m${i}`), side: "buy", price: "25000", qty: "1" });
    for (let i = 0; i < 500; i++) s2.wait(0.5).cancel(s2.place({ trader: Q, side: "buy", price: "24990", qty: "1" }));
    assert.equal(run(s2.events, createQuoteStuffingDetector(config).onEvent).length, 0);
  });

  it("fires the sustained variant for 1,000+ messages in 5 min at an OTR of 250:1 or more", () => {
    const s = new Scenario();
    s.trade({ taker: Q, maker: trader("m"), side: "buy", price: "25000", qty: "1" });
    s.trade({ taker: Q, maker: trader("m"), side: "sell", price: "25000", qty: "1" });
    for (let i = 0; i < 550; i++) s.wait(0.4).cancel(s.place({ trader: Q, side: "buy", price: "24990", qty: "1" }));
    const alerts = run(s.events, createQuoteStuffingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].detail.variant, "sustained");
    assert.equal(alerts[0].detail.trades, 2);
    assert.ok((alerts[0].detail.messages as number) >= 1000);
  });
});
