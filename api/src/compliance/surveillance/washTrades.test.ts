import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveSurveillanceConfig } from "./config.ts";
import { Scenario, run, trader } from "./testing/scenario.ts";
import { createWashRingDetector, createWashSameIdentityDetector } from "./washTrades.ts";

const config = resolveSurveillanceConfig();

describe("WASH_SAME_IDENTITY", () => {
  it("fires once when one identity trades with itself across two wallets", () => {
    const s = new Scenario();
    const a1 = trader("alice", "alice-w1");
    const a2 = trader("alice", "alice-w2");
    const { taker } = s.trade({ taker: a1, maker: a2, side: "buy", price: "25000", qty: "10" });
    const alerts = run(s.events, createWashSameIdentityDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.rule, "WASH_SAME_IDENTITY");
    assert.equal(a.severity, "high");
    assert.deepEqual(a.identityHashes, ["id-alice"]);
    assert.deepEqual(a.accounts, ["alice-w1", "alice-w2"]);
    assert.deepEqual(a.eventSeqs, [taker.seq]);
    assert.equal(a.alertId, `WASH_SAME_IDENTITY-${taker.seq}-${taker.seq}`);
    assert.equal(a.ts, taker.ts);
    assert.match(a.summary, /traded 10 VNM-VND at 25000 with itself/);
  });

  it("raises one alert for repeated self-trades within the cool-down, another after it", () => {
    const s = new Scenario();
    const a1 = trader("alice", "alice-w1");
    const a2 = trader("alice", "alice-w2");
    for (let i = 0; i < 5; i++) s.wait(10).trade({ taker: a1, maker: a2, side: i % 2 ? "buy" : "sell", price: "25000", qty: "1" });
    s.wait(config.cooldownSeconds);
    s.trade({ taker: a2, maker: a1, side: "buy", price: "25000", qty: "1" });
    const alerts = run(s.events, createWashSameIdentityDetector(config).onEvent);
    assert.equal(alerts.length, 2);
  });

  it("does not fire for two different identities", () => {
    const s = new Scenario();
    s.trade({ taker: trader("alice"), maker: trader("bob"), side: "buy", price: "25000", qty: "10" });
    assert.equal(run(s.events, createWashSameIdentityDetector(config).onEvent).length, 0);
  });
});

describe("WASH_RING", () => {
  const A = trader("a");
  const B = trader("b");
  const C = trader("c");

  it("fires once for two identities trading back and forth with no net change", () => {
    const s = new Scenario();
    const seqs: number[] = [];
    for (let i = 0; i < 10; i++) {
      s.wait(20);
      const { taker } = s.trade({ taker: i % 2 ? A : B, maker: i % 2 ? B : A, side: "buy", price: "25000", qty: "5" });
      seqs.push(taker.seq);
    }
    const alerts = run(s.events, createWashRingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.rule, "WASH_RING");
    assert.deepEqual(a.identityHashes, ["id-a", "id-b"]);
    assert.deepEqual(a.accounts, ["a-acct", "b-acct"]);
    assert.deepEqual(a.eventSeqs, seqs.slice(0, 6)); // fires on the 6th trade
    assert.equal(a.detail.trades, 6);
    assert.equal(a.symbol, "VNM-VND");
  });

  it("fires for a circle of three (A→B→C→A) where no pair alone nets out", () => {
    const s = new Scenario();
    for (let round = 0; round < 2; round++) {
      s.wait(30).trade({ taker: B, maker: A, side: "buy", price: "25000", qty: "3" }); // A sells to B
      s.wait(30).trade({ taker: C, maker: B, side: "buy", price: "25000", qty: "3" }); // B sells to C
      s.wait(30).trade({ taker: A, maker: C, side: "buy", price: "25000", qty: "3" }); // C sells to A
    }
    const alerts = run(s.events, createWashRingDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    assert.deepEqual(alerts[0].identityHashes, ["id-a", "id-b", "id-c"]);
    assert.equal(alerts[0].eventSeqs.length, 6);
  });

  it("does not fire when one side steadily accumulates", () => {
    const s = new Scenario();
    for (let i = 0; i < 12; i++) s.wait(20).trade({ taker: A, maker: B, side: i % 4 === 3 ? "sell" : "buy", price: "25000", qty: "5" });
    assert.equal(run(s.events, createWashRingDetector(config).onEvent).length, 0);
  });

  it("does not fire when net change is just above the 5% tolerance", () => {
    const s = new Scenario();
    // A buys 3 × 10 and sells 3 × 8.8: net 3.6 of gross 56.4 = 6.4%.
    for (let i = 0; i < 6; i++) s.wait(20).trade({ taker: A, maker: B, side: i % 2 ? "sell" : "buy", price: "25000", qty: i % 2 ? "8.8" : "10" });
    assert.equal(run(s.events, createWashRingDetector(config).onEvent).length, 0);
  });

  it("does not fire for a market maker turning over its position with many different counterparties", () => {
    const s = new Scenario();
    for (let i = 0; i < 60; i++) s.wait(5).trade({ taker: trader(`cp${i}`), maker: A, side: i % 2 ? "buy" : "sell", price: "25000", qty: "2" });
    assert.equal(run(s.events, createWashRingDetector(config).onEvent).length, 0);
  });

  it("does not count a hub whose round trips with a few counterparties are a small part of its trading", () => {
    const s = new Scenario();
    for (let i = 0; i < 40; i++) s.wait(2).trade({ taker: trader(`mm${i}`), maker: A, side: i % 2 ? "buy" : "sell", price: "25000", qty: "2" });
    for (let i = 0; i < 3; i++) {
      s.wait(5).trade({ taker: A, maker: trader(`cp${i}`), side: "buy", price: "25000", qty: "2" });
      s.wait(5).trade({ taker: A, maker: trader(`cp${i}`), side: "sell", price: "25000", qty: "2" });
    }
    assert.equal(run(s.events, createWashRingDetector(config).onEvent).length, 0);
  });

  it("does not fire when the round trips are spread beyond the window", () => {
    const s = new Scenario();
    for (let i = 0; i < 10; i++) s.wait(180).trade({ taker: i % 2 ? A : B, maker: i % 2 ? B : A, side: "buy", price: "25000", qty: "5" });
    assert.equal(run(s.events, createWashRingDetector(config).onEvent).length, 0);
  });

  it("keeps rings apart per symbol", () => {
    const s = new Scenario();
    for (let i = 0; i < 6; i++) s.wait(20).trade({ taker: i % 2 ? A : B, maker: i % 2 ? B : A, side: "buy", price: "25000", qty: "5", symbol: i < 3 ? "VNM-VND" : "FPT-VND" });
    assert.equal(run(s.events, createWashRingDetector(config).onEvent).length, 0);
  });
});
