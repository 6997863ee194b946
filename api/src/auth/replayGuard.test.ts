import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import { createReplayGuard } from "./replayGuard.ts";

describe("createReplayGuard", async () => {
  it("refuses a pair seen within the window, per key", async () => {
    const clock = { t: 1_000_000 };
    const g = createReplayGuard({ now: () => clock.t, windowMs: 5000 });
    assert.equal(await g.remember("k1", "sig", clock.t), true);
    assert.equal(await g.remember("k1", "sig", clock.t), false);
    assert.equal(await g.remember("k2", "sig", clock.t), true, "same signature under another key is a different pair");
    assert.equal(await g.remember("k1", "sig2", clock.t), true);
  });

  it("forgets pairs once their timestamp has left the window (bounded memory)", async () => {
    const clock = { t: 1_000_000 };
    const g = createReplayGuard({ now: () => clock.t, windowMs: 5000 });
    for (let i = 0; i < 10_000; i++) {
      await g.remember("k", `s${i}`, clock.t);
      clock.t += 1;
    }
    // Only the last window's worth (plus the one at the edge) is kept.
    assert.ok(g.size <= 5001, `size ${g.size}`);
    assert.equal(await g.remember("k", "s9999", clock.t - 1), false, "recent pair still remembered");
  });

  it("keeps a future-dated pair until its own timestamp leaves the window", async () => {
    const clock = { t: 1_000_000 };
    const g = createReplayGuard({ now: () => clock.t, windowMs: 5000 });
    await g.remember("k", "future", clock.t + 5000);
    clock.t += 9000;
    await g.remember("k", "other", clock.t); // triggers pruning
    assert.equal(await g.remember("k", "future", clock.t + 5000 - 9000), false);
  });

  it("fails closed when full", async () => {
    const clock = { t: 0 };
    const g = createReplayGuard({ now: () => clock.t, windowMs: 5000, maxEntries: 3 });
    for (const s of ["a", "b", "c"]) await g.remember("k", s, 0);
    await assert.rejects(g.remember("k", "d", 0), (e: unknown) => e instanceof AuthError && e.code === AuthCode.REPLAY_GUARD_FULL);
    clock.t = 5001;
    assert.equal(await g.remember("k", "d", 5001), true, "room again after pruning");
    assert.equal(g.size, 1);
  });
});
