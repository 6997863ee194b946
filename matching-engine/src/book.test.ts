import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BookSide, WINDOW } from "./book.ts";
import { BUY } from "./orderPool.ts";

test("BookSide level index = a Map (dense window, far prices, re-centring when empty)", () => {
  const price = fc.oneof(
    fc.integer({ min: 1, max: 3 * WINDOW }),
    fc.integer({ min: 1, max: 2 ** 40 }),
    fc.constantFrom(1, WINDOW / 2, WINDOW / 2 + 1, WINDOW, WINDOW + 1),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), price), { maxLength: 400 }), (ops) => {
      const bs = new BookSide(BUY);
      const ref = new Map<number, number>();
      let next = 0;
      for (const [ins, p] of ops) {
        if (ins && !ref.has(p)) {
          const l = next++;
          bs.set(p, l); // as Book.levelFor: set, then ladder insert
          bs.ladder.insert(p);
          ref.set(p, l);
        } else if (!ins && ref.has(p)) {
          bs.delete(p);
          bs.ladder.remove(p);
          ref.delete(p);
        }
        for (const [q, l] of ref) assert.equal(bs.get(q), l);
        assert.equal(bs.get(p), ref.get(p) ?? -1);
      }
    }),
    { numRuns: 200 },
  );
});
