import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientKey, ExpiringTable, RateBuckets } from "../src/limits.ts";

describe("issuer's bounded tables", () => {
  it("ExpiringTable drops expired entries from the head as it adds, and the oldest when full, telling onDrop", () => {
    const dropped: string[] = [];
    const t = new ExpiringTable<{ expiresAt: number }>(3, (k) => dropped.push(k));
    t.add("a", { expiresAt: 10 }, 0);
    t.add("b", { expiresAt: 20 }, 5);
    assert.equal(t.get("a", 9)?.expiresAt, 10);
    assert.equal(t.get("a", 10), undefined, "expired at its time");
    assert.deepEqual(dropped, ["a"]);
    t.add("c", { expiresAt: 30 }, 21); // b expired meanwhile: dropped by the add, unasked
    assert.equal(t.size, 1);
    assert.deepEqual(dropped, ["a", "b"]);
    t.add("d", { expiresAt: 40 }, 22);
    t.add("e", { expiresAt: 50 }, 23);
    t.add("f", { expiresAt: 60 }, 24); // full: the oldest live one (c) goes
    assert.deepEqual([t.size, t.get("c", 24), t.get("f", 24)?.expiresAt], [3, undefined, 60]);
    assert.deepEqual(dropped, ["a", "b", "c"]);
    t.delete("d"); // deleted, not dropped: onDrop is not told
    t.add("g", { expiresAt: 70 }, 25);
    assert.deepEqual([t.size, dropped], [3, ["a", "b", "c"]]);
  });

  it("ExpiringTable stays bounded while entries are added and deleted forever", () => {
    const t = new ExpiringTable<{ expiresAt: number }>(100);
    for (let i = 0; i < 100_000; i++) {
      t.add(`k${i}`, { expiresAt: Number.MAX_SAFE_INTEGER }, i);
      if (i % 2 === 0) t.delete(`k${i}`);
    }
    assert.ok(t.size <= 100, String(t.size));
    assert.ok(t.get("k99999", 0));
  });

  it("RateBuckets grants a burst, then one per refill, and says how long to wait; keys are apart", () => {
    const b = new RateBuckets({ burst: 3, perSecond: 2 });
    assert.deepEqual([0, 0, 0].map(() => b.take("x", 1000)), [0, 0, 0]);
    assert.equal(b.take("x", 1000), 500);
    assert.equal(b.take("y", 1000), 0, "another key has its own bucket");
    assert.equal(b.take("x", 1500), 0, "half a second refills one");
    assert.equal(b.take("x", 1500), 500);
  });

  it("RateBuckets remembers at most two generations of keys", () => {
    const b = new RateBuckets({ burst: 1, perSecond: 0.001 }, 2);
    b.take("a", 0);
    assert.ok(b.take("a", 0) > 0);
    b.take("b", 0); // a and b: the current generation is full
    b.take("c", 0); // a and b become the previous generation
    assert.ok(b.take("a", 0) > 0, "the previous generation is still counted");
    b.take("d", 0); // c and a become the previous generation; b's is forgotten
    assert.equal(b.take("b", 0), 0, "forgotten: a fresh bucket");
  });

  it("clientKey counts an IPv4 address, an IPv4-mapped one as IPv4, and an IPv6 address by its /64", () => {
    assert.equal(clientKey("203.0.113.7"), "203.0.113.7");
    assert.equal(clientKey("::ffff:203.0.113.7"), "203.0.113.7");
    assert.equal(clientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
    assert.equal(clientKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
    assert.equal(clientKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(clientKey("::1"), "0:0:0:0::/64");
    assert.equal(clientKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(clientKey(undefined), "unknown");
  });
});
