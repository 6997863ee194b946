import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveSurveillanceConfig } from "./config.ts";
import { createMarkingTheCloseDetector } from "./markingTheClose.ts";
import { Scenario, run, trader } from "./testing/scenario.ts";

const config = resolveSurveillanceConfig();
const M = trader("marker");

/** An ordinary trade at 25,000 at `start`, then the clock moved to `at`. */
function dayWith(start: string, at: string): Scenario {
  const s = new Scenario({ start });
  s.trade({ taker: trader("x"), maker: trader("y"), side: "buy", price: "25000", qty: "5" });
  return s.at(at);
}

describe("MARKING_THE_CLOSE (close)", () => {
  it("fires once when one identity's aggressive buys move the price 220 bps in the last 5 minutes", () => {
    const s = dayWith("2026-11-23T07:30:00.000000Z", "2026-11-23T07:41:00.000000Z");
    const seqs: number[] = [];
    for (const p of ["25100", "25250", "25400", "25550"]) seqs.push(s.wait(20).trade({ taker: M, maker: trader(`mk${p}`), side: "buy", price: p, qty: "10" }).taker.seq);
    s.wait(10).trade({ taker: trader("z"), maker: trader("w"), side: "buy", price: "25560", qty: "1" });
    const alerts = run(s.events, createMarkingTheCloseDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.rule, "MARKING_THE_CLOSE");
    assert.equal(a.detail.pattern, "close");
    assert.deepEqual(a.identityHashes, ["id-marker"]);
    assert.deepEqual(a.eventSeqs, seqs); // fires on the 4th buy, the first to reach 200 bps
    assert.equal(a.detail.moveBps, 220);
    assert.equal(a.detail.closeAt, "2026-11-23T07:45:00.000Z");
    assert.match(a.summary, /100\.00% of VNM-VND volume .* moved 220 bps from 25000 to 25550/);
  });

  it("uses the configured close times (several a day)", () => {
    const cfg = resolveSurveillanceConfig({ closeTimesUtc: ["04:30", "07:45"] });
    const s = dayWith("2026-11-23T04:00:00.000000Z", "2026-11-23T04:26:00.000000Z");
    for (const p of ["25100", "25250", "25400", "25550"]) s.wait(20).trade({ taker: M, maker: trader(`mk${p}`), side: "buy", price: p, qty: "10" });
    assert.equal(run(s.events, createMarkingTheCloseDetector(cfg).onEvent).length, 1);
    assert.equal(run(s.events, createMarkingTheCloseDetector(config).onEvent).length, 0);
  });

  it("fires for aggressive sells pushing the price down", () => {
    const s = dayWith("2026-11-23T07:30:00.000000Z", "2026-11-23T07:42:00.000000Z");
    for (const p of ["24900", "24750", "24600", "24450"]) s.wait(20).trade({ taker: M, maker: trader(`mk${p}`), side: "sell", price: p, qty: "10" });
    const alerts = run(s.events, createMarkingTheCloseDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].detail.side, "sell");
  });

  it("does not fire for the same price move with volume spread over many identities", () => {
    const s = dayWith("2026-11-23T07:30:00.000000Z", "2026-11-23T07:41:00.000000Z");
    ["25100", "25250", "25400", "25550", "25600"].forEach((p, i) => s.wait(20).trade({ taker: trader(`buyer${i}`), maker: trader(`mk${i}`), side: "buy", price: p, qty: "10" }));
    assert.equal(run(s.events, createMarkingTheCloseDetector(config).onEvent).length, 0);
  });

  it("does not fire for a large taker at the close that does not move the price", () => {
    const s = dayWith("2026-11-23T07:30:00.000000Z", "2026-11-23T07:41:00.000000Z");
    for (let i = 0; i < 6; i++) s.wait(20).trade({ taker: M, maker: trader(`mk${i}`), side: "buy", price: i % 2 ? "25000" : "25050", qty: "100" });
    assert.equal(run(s.events, createMarkingTheCloseDetector(config).onEvent).length, 0);
  });

  it("does not fire for the same move outside the closing interval", () => {
    const s = dayWith("2026-11-23T05:00:00.000000Z", "2026-11-23T05:10:00.000000Z");
    for (const p of ["25100", "25250", "25400", "25550"]) s.wait(20).trade({ taker: M, maker: trader(`mk${p}`), side: "buy", price: p, qty: "10" });
    assert.equal(run(s.events, createMarkingTheCloseDetector(config).onEvent).length, 0);
  });
});

describe("MARKING_THE_CLOSE (momentum ignition)", () => {
  it("fires when a burst moves the price 360 bps and the identity sells within 120 s", () => {
    const s = dayWith("2026-11-23T03:00:00.000000Z", "2026-11-23T03:10:00.000000Z");
    const burst = ["25300", "25600", "25900"].map((p) => s.wait(5).trade({ taker: M, maker: trader(`mk${p}`), side: "buy", price: p, qty: "10" }).taker.seq);
    s.wait(10).trade({ taker: trader("fomo"), maker: trader("mk"), side: "buy", price: "25950", qty: "3" });
    const { maker } = s.wait(30).trade({ taker: trader("fomo2"), maker: M, side: "buy", price: "25900", qty: "30" });
    const alerts = run(s.events, createMarkingTheCloseDetector(config).onEvent);
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.equal(a.detail.pattern, "momentumIgnition");
    assert.deepEqual(a.identityHashes, ["id-marker"]);
    assert.deepEqual(a.eventSeqs, [...burst, maker.seq]);
    assert.equal(a.detail.moveBps, 360);
    assert.equal(a.ts, maker.ts);
  });

  it("does not fire when the burst is not reversed within 120 s", () => {
    const s = dayWith("2026-11-23T03:00:00.000000Z", "2026-11-23T03:10:00.000000Z");
    for (const p of ["25300", "25600", "25900"]) s.wait(5).trade({ taker: M, maker: trader(`mk${p}`), side: "buy", price: p, qty: "10" });
    s.wait(200).trade({ taker: trader("fomo2"), maker: M, side: "buy", price: "25900", qty: "30" });
    assert.equal(run(s.events, createMarkingTheCloseDetector(config).onEvent).length, 0);
  });

  it("does not fire when the move was made by many identities", () => {
    const s = dayWith("2026-11-23T03:00:00.000000Z", "2026-11-23T03:10:00.000000Z");
    ["25300", "25600", "25900"].forEach((p, i) => {
      s.wait(2).trade({ taker: M, maker: trader(`mk${p}`), side: "buy", price: p, qty: "1" });
      s.wait(2).trade({ taker: trader(`o${i}`), maker: trader(`mk${i}`), side: "buy", price: p, qty: "10" });
    });
    s.wait(30).trade({ taker: trader("fomo2"), maker: M, side: "buy", price: "25900", qty: "3" });
    assert.equal(run(s.events, createMarkingTheCloseDetector(config).onEvent).length, 0);
  });
});
