import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMicroClock, sampleWall, type ClockSources } from "./microClock.ts";

const T0_US = 1_780_000_000_123_456n; // an epoch instant with a sub-millisecond part

/**
 * A monotonic clock that moves 70 ns per read (about what process.hrtime costs) and a wall clock
 * derived from it, which the test can step and make drift; Date.now-like: whole milliseconds.
 */
function fakeTime(startWallUs = T0_US) {
  let mono = 9_000_000_000n; // an arbitrary origin, as hrtime's
  let offsetNs = startWallUs * 1000n - mono;
  let drift = { ppm: 0n, since: mono };
  const trueWallNs = () => mono + offsetNs + ((mono - drift.since) * drift.ppm) / 1_000_000n;
  const sources: ClockSources = {
    monoNs: () => (mono += 70n),
    wallMs: () => Number(trueWallNs() / 1_000_000n),
  };
  return {
    sources,
    trueWallUs: () => trueWallNs() / 1000n,
    /** Real time passes (nobody reads the clocks meanwhile). */
    advanceMs: (ms: number) => void (mono += BigInt(ms) * 1_000_000n),
    /** The wall clock is stepped (NTP step, an operator's `date -s`). */
    stepWallUs: (us: bigint) => void (offsetNs += us * 1000n),
    /** The wall clock runs `ppm` faster than the monotonic clock from now on. */
    driftPpm: (ppm: bigint) => {
      offsetNs = trueWallNs() - mono;
      drift = { ppm, since: mono };
    },
  };
}

describe("micro clock", () => {
  it("starts at the wall clock to the microsecond, not at Date.now's truncated millisecond", () => {
    const t = fakeTime();
    const clock = createMicroClock({ sources: t.sources });
    const first = clock.now();
    const wall = t.trueWallUs();
    assert.ok(first - wall <= 2n && wall - first <= 2n, `first reading ${first} vs wall ${wall}`);
    assert.ok(clock.lastCheck.uncertaintyUs < 1, `anchor uncertainty ${clock.lastCheck.uncertaintyUs} µs`);
  });

  it("is strictly increasing even when read faster than it ticks, and has microsecond granularity", () => {
    const t = fakeTime();
    const clock = createMicroClock({ sources: t.sources });
    let prev = clock.now();
    const subMs = new Set<bigint>();
    for (let i = 0; i < 20_000; i++) {
      const v = clock.now(); // 140 ns of fake time per reading: several readings per µs
      assert.ok(v > prev, `reading ${i}: ${v} after ${prev}`);
      subMs.add(v % 1000n);
      prev = v;
    }
    // Readings across a few milliseconds land on all sorts of microseconds, not on .000.
    assert.ok(subMs.size > 900, `${subMs.size} distinct sub-millisecond parts`);
    // Readings that collided were bumped by 1 µs, so the clock never got far ahead of the wall.
    assert.ok(prev - t.trueWallUs() < 20_000n, `ahead by ${prev - t.trueWallUs()} µs after 20,000 readings`);
  });

  it("never goes back when the wall clock steps back: it slews at the bounded rate until it meets it", () => {
    const t = fakeTime();
    const clock = createMicroClock({ sources: t.sources, maxSlewPpm: 83_333 });
    t.advanceMs(50);
    const before = clock.now();
    t.stepWallUs(-1_000_000n); // NTP steps the system clock back a second
    const after = clock.now();
    assert.ok(after > before, "no jump back on the next reading");

    const s = clock.check();
    assert.equal(s.correction, "slew");
    assert.ok(Math.abs(s.divergenceUs - 1_000_000) <= 2, `measured divergence ${s.divergenceUs} µs`);
    assert.ok(clock.slewRemainingUs > 999_000);

    // Halfway: 6 s at 83,333 ppm shed about 500 ms; readings kept increasing and ran slower.
    let prev = clock.now();
    for (let i = 0; i < 60; i++) {
      t.advanceMs(100);
      const v = clock.now();
      assert.ok(v > prev);
      const rate = Number(v - prev) / 100_000;
      assert.ok(rate > 0.9 && rate < 0.93, `rate while slewing ${rate}`);
      prev = v;
    }
    assert.ok(Math.abs(clock.slewRemainingUs - 500_000) < 2_000, `remaining ${clock.slewRemainingUs} µs`);

    // After 12 s it has met the wall clock and runs at rate 1 again.
    t.advanceMs(6_500);
    assert.equal(clock.slewRemainingUs, 0);
    const v = clock.now();
    const wall = t.trueWallUs();
    assert.ok(v - wall <= 2n && wall - v <= 2n, `converged: ${v - wall} µs`);
    const again = clock.check();
    assert.ok(Math.abs(again.divergenceUs) <= 2, `divergence after convergence ${again.divergenceUs} µs`);
  });

  it("follows a forward step of the wall clock at once, and exactly at the next check", () => {
    const t = fakeTime();
    const clock = createMicroClock({ sources: t.sources });
    const before = clock.now();
    t.stepWallUs(5_000_000n);
    const after = clock.now();
    assert.ok(after - before >= 4_999_000n, `followed the step: +${after - before} µs`);
    assert.ok(t.trueWallUs() - after < 1_000n, "within Date.now's millisecond");
    const s = clock.check();
    assert.ok(s.divergenceUs <= 0 && s.divergenceUs > -1_000, `divergence ${s.divergenceUs} µs`);
    const v = clock.now();
    const wall = t.trueWallUs();
    assert.ok(v - wall <= 2n && wall - v <= 2n, `exact after the check: ${v - wall} µs`);
  });

  it("a pause between reading the monotonic and the wall clock (the process descheduled) does not put it ahead", () => {
    const t = fakeTime();
    let pauseNextWallRead = false;
    const sources: ClockSources = {
      monoNs: t.sources.monoNs,
      wallMs: () => {
        if (pauseNextWallRead) {
          pauseNextWallRead = false;
          t.advanceMs(7); // descheduled between the two reads
        }
        return t.sources.wallMs();
      },
    };
    const clock = createMicroClock({ sources });
    for (let i = 0; i < 5; i++) {
      clock.now();
      pauseNextWallRead = true;
      clock.now();
    }
    const s = clock.check();
    assert.ok(Math.abs(s.divergenceUs) <= 2, `divergence after pauses ${s.divergenceUs} µs`);
  });

  it("measures the divergence a drifting wall clock builds up, to the microsecond, and corrects it", () => {
    const t = fakeTime();
    const clock = createMicroClock({ sources: t.sources });
    t.driftPpm(50n); // the wall clock gains 50 µs a second on the monotonic clock
    t.advanceMs(10_000);
    const behind = clock.check();
    assert.ok(Math.abs(behind.divergenceUs + 500) <= 2, `behind by ${behind.divergenceUs} µs`);
    assert.equal(behind.correction, "stepForward");
    t.driftPpm(-80n);
    t.advanceMs(10_000);
    const ahead = clock.check();
    assert.ok(Math.abs(ahead.divergenceUs - 800) <= 2, `ahead by ${ahead.divergenceUs} µs`);
    assert.equal(ahead.correction, "slew");
  });

  it("a coarse measurement corrects only what it is sure of: never past the wall clock", () => {
    // Reads 150 µs apart (a slow, contended machine): a tick is located to about ±150 µs.
    let mono = 9_000_000_000n;
    let offsetNs = 1_780_000_000_123_456_000n - mono;
    const sources: ClockSources = { monoNs: () => (mono += 150_000n), wallMs: () => Number((mono + offsetNs) / 1_000_000n) };
    const trueWallUs = () => (mono + offsetNs) / 1000n;
    const clock = createMicroClock({ sources });

    offsetNs += 2_000_000n; // the wall clock steps 2 ms forward; checked before any reading follows it
    const fwd = clock.check();
    assert.equal(fwd.correction, "stepForward");
    assert.ok(fwd.uncertaintyUs > 100, `uncertainty ${fwd.uncertaintyUs}`);
    const v = clock.now();
    assert.ok(v <= trueWallUs(), `not put ahead: ${v - trueWallUs()} µs`);

    offsetNs -= 3_000_000n; // and 3 ms back
    const back = clock.check();
    assert.equal(back.correction, "slew");
    const excess = clock.now() - trueWallUs();
    assert.ok(clock.slewRemainingUs <= Number(excess) && clock.slewRemainingUs > 0, `slewing ${clock.slewRemainingUs} of a ${excess} µs excess`);
  });

  it("locates a Date.now tick to within the loop's iteration time; a frozen wall clock gives the millisecond with 500 µs uncertainty", () => {
    const t = fakeTime();
    const s = sampleWall(t.sources);
    assert.ok(s.uncertaintyUs < 1);
    assert.equal(s.wallUs % 1000n, 0n, "the instant of a tick is a whole millisecond");

    const frozen = sampleWall({ monoNs: t.sources.monoNs, wallMs: () => 1_780_000_000_000 });
    assert.equal(frozen.uncertaintyUs, 500);
    assert.equal(frozen.wallUs, 1_780_000_000_000_500n);
  });

  it("on the real system clock: strictly increasing readings, back on Date.now once read slower than once a µs", async () => {
    const clock = createMicroClock();
    let prev = clock.now();
    for (let i = 0; i < 10_000; i++) {
      const v = clock.now();
      assert.ok(v > prev);
      prev = v;
    }
    // Read several times a microsecond, readings run ahead by the collisions' 1 µs bumps; the
    // bumps do not accumulate in the clock itself, so it is back on the wall clock once real
    // time has caught up with the last reading.
    await new Promise((r) => setTimeout(r, 15));
    const v = clock.now();
    assert.ok(v > prev);
    const wall = BigInt(Date.now()) * 1000n;
    assert.ok(v - wall < 1_100n && wall - v < 1_100n, `clock ${v} vs Date.now ${wall}`);
    const s = clock.check();
    assert.ok(Math.abs(s.divergenceUs) < 1_000 || s.uncertaintyUs === 500, `divergence ${s.divergenceUs} µs ± ${s.uncertaintyUs}`);
  });

  it("notBefore: a restart floor above the wall clock is honoured at once, then slewed back, never stalled", () => {
    const t = fakeTime();
    const clock = createMicroClock({ sources: t.sources, maxSlewPpm: 83_333 });
    const floor = t.trueWallUs() + 2_000_000n; // the journal's last record, stamped before a 2 s step back
    const raised = clock.notBefore(floor);
    assert.ok(Math.abs(raised - 2_000_000) <= 2, `raised by ${raised} µs`);
    let prev = clock.now();
    assert.ok(prev > floor, `first reading ${prev} above the floor ${floor}`);
    assert.ok(clock.slewRemainingUs > 1_999_000);
    // Readings keep advancing (at most 8.3 % slower), not frozen until the wall clock catches up.
    for (let i = 0; i < 10; i++) {
      t.advanceMs(100);
      const v = clock.now();
      const rate = Number(v - prev) / 100_000;
      assert.ok(rate > 0.9 && rate < 0.93, `rate while above the floor ${rate}`);
      prev = v;
    }
    const s = clock.check();
    assert.equal(s.correction, "slew");
    assert.ok(s.divergenceUs > 1_900_000, `divergence ${s.divergenceUs}`);
    t.advanceMs(25_000); // 2 s at 83,333 ppm is shed in 24 s
    assert.equal(clock.slewRemainingUs, 0);
    const v = clock.now();
    const wall = t.trueWallUs();
    assert.ok(v - wall <= 2n && wall - v <= 2n, `back on the wall clock: ${v - wall} µs`);
    // A floor already below the clock changes nothing.
    assert.equal(clock.notBefore(wall - 5_000_000n), 0);
  });

  it("apply: a sample taken elsewhere is applied without sampling here; a stale one (before a rebase) is skipped", () => {
    const t = fakeTime();
    let wallReads = 0;
    const clock = createMicroClock({ sources: { monoNs: t.sources.monoNs, wallMs: () => (wallReads++, t.sources.wallMs()) } });
    t.advanceMs(10);
    const sample = sampleWall(t.sources);
    t.stepWallUs(-3_000n);
    const reads = wallReads;
    const applied = clock.apply(sampleWall(t.sources));
    assert.equal(wallReads, reads, "apply reads neither clock itself");
    assert.equal(applied?.correction, "slew");
    assert.equal(clock.apply(sample), undefined, "the older sample predates the rebase");
  });
});
