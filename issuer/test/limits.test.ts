import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExpiringTable } from "../src/limits.ts";

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
});
