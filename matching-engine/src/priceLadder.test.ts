import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { PriceLadder } from "./priceLadder.ts";

test("PriceLadder = a sorted array under random inserts/removes (chunk splits included)", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: -2000, max: 2000 })), { maxLength: 3000 }), (ops) => {
      const l = new PriceLadder();
      const ref = new Set<number>();
      for (const [ins, k] of ops) {
        if (ins && !ref.has(k)) {
          l.insert(k);
          ref.add(k);
        } else if (!ins && ref.has(k)) {
          l.remove(k);
          ref.delete(k);
        }
      }
      const got: number[] = [];
      l.forEachDesc((k) => (got.push(k), true));
      assert.deepEqual(got, [...ref].sort((a, b) => b - a));
      assert.equal(l.size, ref.size);
      assert.equal(l.max(), ref.size ? Math.max(...ref) : NaN);
    }),
    { numRuns: 100 },
  );
});
