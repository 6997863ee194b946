import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { AuditEvent } from "../audit/auditEvent.ts";
import { DEFAULT_SURVEILLANCE } from "./config.ts";
import { SurveillanceError } from "./errors.ts";
import { createSurveillance } from "./surveillance.ts";
import { Scenario, run, trader } from "./testing/scenario.ts";

/** A stream with one instance of every rule. */
function abusiveDay(): AuditEvent[] {
  const s = new Scenario({ start: "2026-11-23T02:00:00.000000Z" });
  // Self-trade across two wallets.
  s.trade({ taker: trader("self", "self-1"), maker: trader("self", "self-2"), side: "buy", price: "25000", qty: "1" });
  // Ring.
  for (let i = 0; i < 6; i++) s.wait(10).trade({ taker: trader(i % 2 ? "ra" : "rb"), maker: trader(i % 2 ? "rb" : "ra"), side: "buy", price: "25000", qty: "5" });
  // Spoof (notional).
  const large = s.wait(60).place({ trader: trader("sp"), side: "buy", price: "24000", qty: "50000", refPrice: "25000" });
  s.wait(2).trade({ taker: trader("sp"), maker: trader("bob"), side: "sell", price: "25000", qty: "1" });
  s.wait(1).cancel(large);
  // Stuffing.
  for (let i = 0; i < 260; i++) s.wait(0.01).cancel(s.place({ trader: trader("q"), side: "buy", price: "24000", qty: "1" }));
  // Marking the close.
  s.at("2026-11-23T07:41:00.000000Z");
  for (const p of ["25100", "25250", "25400", "25550"]) s.wait(20).trade({ taker: trader("mc"), maker: trader(`mk${p}`), side: "buy", price: p, qty: "10" });
  return s.events;
}

describe("createSurveillance", () => {
  it("fans every event out to every detector and raises each rule once", () => {
    const sv = createSurveillance();
    const alerts = run(abusiveDay(), sv.onEvent);
    assert.deepEqual(alerts.map((a) => a.rule), ["WASH_SAME_IDENTITY", "WASH_RING", "SPOOFING", "QUOTE_STUFFING", "MARKING_THE_CLOSE"]);
    assert.equal(new Set(alerts.map((a) => a.alertId)).size, alerts.length);
    for (const a of alerts) {
      assert.ok(a.eventSeqs.length > 0 && a.summary.length > 0);
      assert.doesNotThrow(() => JSON.stringify(a)); // stored as JSON: no bigint
    }
  });

  it("is deterministic: the same stream gives the same alerts", () => {
    const events = abusiveDay();
    assert.deepEqual(run(events, createSurveillance().onEvent), run(events, createSurveillance().onEvent));
  });

  it("applies overrides and validates them", () => {
    assert.equal(createSurveillance({ washRingMinTrades: 8 }).config.washRingMinTrades, 8);
    assert.equal(createSurveillance().config.cooldownSeconds, DEFAULT_SURVEILLANCE.cooldownSeconds);
    assert.throws(() => createSurveillance({ closeTimesUtc: ["7:45"] }), (e: unknown) => e instanceof SurveillanceError && e.code === "SURVEILLANCE_BAD_CONFIG");
    assert.throws(() => createSurveillance({ washRingMaxIdentities: 9 }), SurveillanceError);
    assert.throws(() => createSurveillance({ cooldownSeconds: -1 }), SurveillanceError);
  });

  it("ignores its own alert.raised events", () => {
    const sv = createSurveillance();
    assert.deepEqual(sv.onEvent({ seq: 0, id: "x", ts: "2026-11-23T02:00:00.000000Z", type: "alert.raised", identityHash: "id-a", symbol: "VNM-VND" }), []);
  });

  it("property: random flow between independent identities raises no WASH alert", () => {
    const identities = Array.from({ length: 60 }, (_, i) => trader(`p${i}`));
    const tradeArb = fc.record({
      a: fc.nat({ max: 59 }),
      d: fc.integer({ min: 1, max: 59 }),
      buy: fc.boolean(),
      qtyCents: fc.integer({ min: 1, max: 100_000 }),
      priceStep: fc.integer({ min: -20, max: 20 }),
      gap: fc.integer({ min: 1, max: 30 }),
      symbol: fc.constantFrom("VNM-VND", "FPT-VND"),
    });
    fc.assert(
      fc.property(fc.array(tradeArb, { minLength: 100, maxLength: 400, size: "max" }), (trades) => {
        const s = new Scenario();
        for (const t of trades) {
          const taker = identities[t.a];
          const maker = identities[(t.a + t.d) % 60]; // never the same identity
          const qty = `${Math.floor(t.qtyCents / 100)}.${String(t.qtyCents % 100).padStart(2, "0")}`;
          s.wait(t.gap).trade({ taker, maker, side: t.buy ? "buy" : "sell", price: String(25000 + t.priceStep * 10), qty, symbol: t.symbol, refPrice: "25000" });
        }
        const alerts = run(s.events, createSurveillance().onEvent);
        assert.deepEqual(alerts.filter((a) => a.rule === "WASH_SAME_IDENTITY" || a.rule === "WASH_RING"), []);
      }),
      { numRuns: 25, seed: 20261123 },
    );
  });

  it("property: determinism on random streams", () => {
    const identities = Array.from({ length: 5 }, (_, i) => trader(`d${i}`));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 4 }), fc.nat({ max: 4 }), fc.boolean(), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 20 })), { maxLength: 120, size: "max" }), (steps) => {
        const s = new Scenario();
        for (const [a, b, buy, q, gap] of steps) s.wait(gap).trade({ taker: identities[a], maker: identities[b], side: buy ? "buy" : "sell", price: String(25000 + q * 100), qty: String(q) });
        assert.deepEqual(run(s.events, createSurveillance().onEvent), run(s.events, createSurveillance().onEvent));
      }),
      { numRuns: 40, seed: 7 },
    );
  });
});
