import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, it } from "node:test";
import { startClockMonitor } from "./clockMonitor.ts";
import { startClockSampler } from "./clockSampler.ts";
import { createMicroClock } from "./microClock.ts";

describe("clock sampler worker", () => {
  it("pairs a Date.now tick with hrtime in a worker: valid on this thread, to about a microsecond", async () => {
    const sampler = startClockSampler();
    try {
      for (let i = 0; i < 5; i++) {
        const before = process.hrtime.bigint();
        const s = await sampler.sample();
        assert.ok(s.monoNs > before && s.monoNs < process.hrtime.bigint(), "the worker's hrtime is this process's monotonic clock");
        assert.ok(s.uncertaintyUs < 500, `tick located to ± ${s.uncertaintyUs} µs`);
        assert.equal(s.wallUs % 1000n, 0n, "the instant of a tick");
        // The wall clock now, by this thread: the sample's wall time plus the monotonic time since.
        const nowUs = s.wallUs + (process.hrtime.bigint() - s.monoNs) / 1000n;
        const wall = BigInt(Date.now()) * 1000n;
        assert.ok(nowUs >= wall - 50n && nowUs < wall + 1_050n, `projected ${nowUs} vs Date.now ${wall}`);
      }
    } finally {
      await sampler.close();
    }
  });

  it("a check in the worker does not block the main thread: no gap over 0.5 ms while checks run", async () => {
    const clock = createMicroClock();
    const monitor = await startClockMonitor({ clock, source: "test", maxDivergenceUs: 1_000, checkEveryMs: 3_600_000, record: () => {}, traceability: async () => "not measured by Sen", sampler: startClockSampler() });
    try {
      for (let i = 0; i < 5; i++) await monitor.checkInWorker(); // worker started, code warm
      // What a check costs the main thread: its event loop's active time (callbacks running,
      // not waiting in poll) over the check, per round, judged by the median so that a loaded
      // machine (2 shared cores) descheduling this thread in a callback now and then does not
      // decide. A busy probe (a setImmediate loop) would compete with the spinning worker for
      // the cores and measure the scheduler instead.
      const activeMs = async (check: () => Promise<unknown>) => {
        const before = performance.eventLoopUtilization();
        await check();
        return performance.eventLoopUtilization(before).active;
      };
      const inWorker: number[] = [];
      const spinning: number[] = [];
      for (let i = 0; i < 25; i++) inWorker.push(await activeMs(() => monitor.checkInWorker()));
      for (let i = 0; i < 25; i++) spinning.push(await activeMs(() => new Promise<void>((r) => setImmediate(() => (monitor.checkNow(), r())))));
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const show = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(" ");
      assert.ok(median(inWorker) < 0.5, `main thread busy ${median(inWorker).toFixed(3)} ms (median) per worker check: ${show(inWorker)}`);
      assert.ok(median(spinning) > median(inWorker), `the spinning check keeps it busy longer: ${median(spinning).toFixed(3)} ms vs ${median(inWorker).toFixed(3)} ms; spinning: ${show(spinning)}`);
      // And the loop's scheduling delay while worker checks run back to back stays small.
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      for (let i = 0; i < 20; i++) await monitor.checkInWorker();
      h.disable();
      assert.ok(h.percentile(50) / 1e6 < 1.5, `event loop delay p50 ${(h.percentile(50) / 1e6).toFixed(3)} ms`);
      assert.ok(monitor.status().checks >= 76);
    } finally {
      monitor.stop();
    }
  });
});
