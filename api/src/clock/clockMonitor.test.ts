import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import type { AuditEventInput } from "../compliance/audit/auditEvent.ts";
import { registerClockMetrics } from "./clockMetrics.ts";
import { startClockMonitor } from "./clockMonitor.ts";
import { createMicroClock, type ClockSources } from "./microClock.ts";

/** A monotonic clock moving 70 ns per read and a Date.now-like wall clock the test can step. */
function fakeTime() {
  let mono = 1_000_000_000n;
  let offsetNs = 1_780_000_000_123_456_000n - mono;
  const sources: ClockSources = { monoNs: () => (mono += 70n), wallMs: () => Number((mono + offsetNs) / 1_000_000n) };
  return { sources, advanceMs: (ms: number) => void (mono += BigInt(ms) * 1_000_000n), stepWallUs: (us: bigint) => void (offsetNs += us * 1000n) };
}

describe("clock monitor (RTS 25 record)", () => {
  it("records the source and bound at start, each check beyond the bound, and the return within it", async () => {
    const t = fakeTime();
    const clock = createMicroClock({ sources: t.sources });
    const recorded: AuditEventInput[] = [];
    const registry = new Registry();
    const monitor = await startClockMonitor({
      clock,
      source: "chrony (test)",
      maxDivergenceUs: 1_000,
      checkEveryMs: 3_600_000,
      record: (e) => recorded.push(e),
      traceability: async () => "not measured by Sen",
      onCheck: registerClockMetrics(registry),
    });
    try {
      assert.equal(recorded.length, 1);
      assert.equal(recorded[0].type, "clock.status");
      assert.equal(recorded[0].actor, "gateway start");
      assert.deepEqual({ ...recorded[0].detail, divergenceFromSystemClockUs: 0, uncertaintyUs: 0 }, {
        source: "chrony (test)",
        utcTraceability: "not measured by Sen",
        maxDivergenceUs: 1_000,
        divergenceFromSystemClockUs: 0,
        uncertaintyUs: 0,
        correction: "none",
        withinBoundOfSystemClock: true,
        slewRemainingUs: 0,
        granularityUs: 1,
      });
      assert.match(recorded[0].reason!, /UTC traceability: not measured by Sen/);
      assert.match(recorded[0].reason!, /from the system clock, not UTC/);

      // Within the bound: nothing recorded.
      t.advanceMs(10_000);
      t.stepWallUs(-300n);
      assert.equal(monitor.checkNow().withinBoundOfSystemClock, true);
      assert.equal(recorded.length, 1);

      // The wall clock steps back 5 ms: the clock is ahead by 5 ms, recorded, and slews back.
      t.advanceMs(10_000);
      t.stepWallUs(-5_000n);
      const out = monitor.checkNow();
      assert.equal(out.withinBoundOfSystemClock, false);
      assert.equal(out.lastCheck.correction, "slew");
      assert.equal(recorded.length, 2);
      const d = recorded[1].detail as { divergenceFromSystemClockUs: number; withinBoundOfSystemClock: boolean };
      assert.ok(Math.abs(d.divergenceFromSystemClockUs - 5_000) <= 2, `divergence ${d.divergenceFromSystemClockUs}`);
      assert.equal(d.withinBoundOfSystemClock, false);
      assert.equal(recorded[1].actor, "clock monitor");
      assert.match(recorded[1].reason!, /exceeds the 1000 µs bound; slewing back/);
      const metrics = await registry.metrics();
      assert.match(metrics, /^sen_clock_within_bound_of_system_clock 0$/m);
      assert.match(metrics, /^sen_clock_divergence_from_system_clock_microseconds 500\d$/m);

      // 5 ms at 83,333 ppm is shed in 60 ms: the next check is back within, recorded once.
      t.advanceMs(100);
      assert.equal(monitor.checkNow().withinBoundOfSystemClock, true);
      assert.equal(recorded.length, 3);
      assert.match(recorded[2].reason!, /back within the 1000 µs bound of the system clock/);
      t.advanceMs(10_000);
      monitor.checkNow();
      assert.equal(recorded.length, 3, "nothing more while within");
      assert.equal(monitor.status().checks, 5);
      assert.equal(monitor.status().exceeded, 1);
    } finally {
      monitor.stop();
    }
  });

  it("a measurement whose uncertainty alone breaks a tight bound is reported out of bound, not rounded away", async () => {
    const t = fakeTime();
    // A wall clock that never ticks: the divergence can only be measured to ±500 µs.
    const clock = createMicroClock({ sources: { monoNs: t.sources.monoNs, wallMs: () => 1_780_000_000_123 } });
    const recorded: AuditEventInput[] = [];
    const monitor = await startClockMonitor({ clock, source: "test", maxDivergenceUs: 100, checkEveryMs: 3_600_000, record: (e) => recorded.push(e), traceability: async () => "not measured by Sen" });
    monitor.stop();
    assert.equal((recorded[0].detail as { uncertaintyUs: number }).uncertaintyUs, 500);
    assert.equal((recorded[0].detail as { withinBoundOfSystemClock: boolean }).withinBoundOfSystemClock, false);
    assert.equal(monitor.status().exceeded, 1);
  });

  it("records a restart floor above the system clock in the start event, and then the slew back", async () => {
    const t = fakeTime();
    const clock = createMicroClock({ sources: t.sources });
    const floorUs = clock.now() + 2_000_000n;
    clock.notBefore(floorUs);
    const recorded: AuditEventInput[] = [];
    const monitor = await startClockMonitor({
      clock,
      source: "test",
      maxDivergenceUs: 1_000,
      checkEveryMs: 3_600_000,
      record: (e) => recorded.push(e),
      traceability: async () => "not measured by Sen",
      floor: { us: floorUs, from: "journal record 7", raisedUs: clock.slewRemainingUs },
    });
    monitor.stop();
    const d = recorded[0].detail as { restartFloor: { at: string; from: string; aboveSystemClockUs: number }; withinBoundOfSystemClock: boolean; correction: string };
    assert.equal(d.restartFloor.from, "journal record 7");
    assert.ok(d.restartFloor.aboveSystemClockUs > 1_999_000, `${d.restartFloor.aboveSystemClockUs} µs`);
    assert.equal(d.withinBoundOfSystemClock, false);
    assert.equal(d.correction, "slew");
    assert.match(recorded[0].reason!, /restart floor: journal record 7 at .* is \d+ µs ahead of the system clock/);
    assert.equal(monitor.status().restartFloor?.from, "journal record 7");
  });
  it("reads the UTC traceability again at most once per traceabilityEveryMs, not at every check", async () => {
    let reads = 0;
    const monitor = await startClockMonitor({
      clock: createMicroClock({}),
      source: "test",
      maxDivergenceUs: 1_000,
      checkEveryMs: 100,
      traceabilityEveryMs: 60_000,
      record: () => undefined,
      traceability: async () => `reading ${++reads}`,
      sampler: { sample: async () => ({}) as never, close: async () => undefined } as never,
    });
    try {
      assert.equal(reads, 1, "read once at start");
      for (let i = 0; i < 3; i++) await monitor.checkInWorker().catch(() => undefined);
      assert.equal(reads, 1, "not again within the minute");
      assert.equal(monitor.status().utcTraceability, "reading 1");
    } finally {
      monitor.stop();
    }
  });
});
