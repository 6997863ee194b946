import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBuckets } from "./tokenBucket.ts";

describe("TokenBuckets", () => {
  it("grants a burst, then one per refill, and says how long to wait; keys are apart", () => {
    const b = new TokenBuckets();
    assert.deepEqual([0, 0, 0].map(() => b.waitMs("x", 3, 2, 1000)), [0, 0, 0]);
    assert.equal(b.waitMs("x", 3, 2, 1000), 500);
    assert.equal(b.take("x", 3, 2, 1000), false, "a refused take takes nothing");
    assert.equal(b.take("y", 3, 2, 1000), true, "another key has its own bucket");
    assert.equal(b.waitMs("x", 3, 2, 1500), 0, "half a second refills one");
    assert.equal(b.waitMs("x", 3, 2, 1500), 500);
  });

  it("refills nothing while the clock stands behind the last take", () => {
    const b = new TokenBuckets();
    assert.equal(b.take("x", 1, 1, 10_000), true);
    assert.equal(b.take("x", 1, 1, 5_000), false, "a step back is no refill");
    assert.equal(b.take("x", 1, 1, 10_500), false, "still half a token");
    assert.equal(b.take("x", 1, 1, 11_000), true);
  });

  it("remembers at most two generations of keys, forgetting the older one whole", () => {
    const b = new TokenBuckets(2);
    b.take("a", 1, 0.001, 0);
    assert.equal(b.take("a", 1, 0.001, 0), false);
    b.take("b", 1, 0.001, 0); // a and b: the current generation is full
    b.take("c", 1, 0.001, 0); // a and b become the previous generation
    assert.equal(b.take("a", 1, 0.001, 0), false, "the previous generation is still counted");
    b.take("d", 1, 0.001, 0); // c and a become the previous generation; b's is forgotten
    assert.equal(b.take("b", 1, 0.001, 0), true, "forgotten: a fresh bucket");
  });

  it("a flood of new keys costs each one the same, however many live buckets there are (no sweep on the request path)", () => {
    // The previous table walked every bucket on each new key once it held 100,000 that were
    // all still refilling: an attacker with a /48 of IPv6 (65,536 client keys) and a few more
    // made every request pay that walk.
    const b = new TokenBuckets(100_000);
    const n = 250_000;
    for (let i = 0; i < n; i++) b.take(`k${i}`, 30, 1, 0);
    const t0 = performance.now();
    for (let i = n; i < n + 20_000; i++) b.take(`k${i}`, 30, 1, 1);
    const perKeyUs = ((performance.now() - t0) * 1000) / 20_000;
    assert.ok(perKeyUs < 50, `${perKeyUs.toFixed(1)} µs per new key`);
  });
});
