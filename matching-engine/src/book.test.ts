import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BookSide, WINDOW } from "./book.ts";
import { BUY } from "./orderPool.ts";

/**
 * Removals pick a live price (the book removes only levels it holds), and each
 * run has its own insert share: low shares keep emptying the side (so the
 * window re-centres on the next level), high ones pile up levels in and
 * around the window.
 */
type Op = { ins: true; price: number } | { ins: false; pick: number };

test("BookSide level index = a Map (dense window, far prices, re-centring when empty)", () => {
  const price = fc.oneof(
    fc.integer({ min: 1, max: 3 * WINDOW }),
    fc.integer({ min: 1, max: 2 ** 40 }),
    fc.constantFrom(1, WINDOW / 2, WINDOW / 2 + 1, WINDOW, WINDOW + 1),
  );
  const ops = fc.integer({ min: 25, max: 90 }).chain((insertPct) =>
    fc.array(
      fc.tuple(fc.integer({ min: 0, max: 99 }), price, fc.nat()).map(([roll, p, pick]): Op => (roll < insertPct ? { ins: true, price: p } : { ins: false, pick })),
      { minLength: 1, maxLength: 400, size: "max" },
    ),
  );
  const seen = { windowSets: 0, farSets: 0, windowDeletes: 0, farDeletes: 0, emptied: 0, recentred: 0, maxLevels: 0, maxOps: 0 };
  fc.assert(
    fc.property(ops, (ops) => {
      seen.maxOps = Math.max(seen.maxOps, ops.length);
      const bs = new BookSide(BUY);
      const ref = new Map<number, number>();
      let next = 0;
      let wasEmptied = false;
      const inWindow = (p: number) => p - bs.base >= 0 && p - bs.base < WINDOW;
      for (const o of ops) {
        let p: number;
        if (o.ins) {
          p = o.price;
          if (ref.has(p)) continue; // the book sets a price only when its level is new
          const l = next++;
          const base = bs.base;
          bs.set(p, l); // as Book.levelFor: set, then ladder insert
          bs.ladder.insert(p);
          ref.set(p, l);
          if (wasEmptied && bs.base !== base) seen.recentred++;
          wasEmptied = false;
          if (inWindow(p)) seen.windowSets++;
          else seen.farSets++;
        } else {
          if (ref.size === 0) continue;
          p = [...ref.keys()][o.pick % ref.size];
          if (inWindow(p)) seen.windowDeletes++;
          else seen.farDeletes++;
          bs.delete(p);
          bs.ladder.remove(p);
          ref.delete(p);
          if (ref.size === 0) {
            seen.emptied++;
            wasEmptied = true;
            // nothing may linger to be found after the window moves
            assert.equal(bs.far.size, 0);
            assert.ok(bs.window.every((x) => x === -1));
          }
        }
        seen.maxLevels = Math.max(seen.maxLevels, ref.size);
        for (const [q, l] of ref) assert.equal(bs.get(q), l);
        assert.equal(bs.get(p), ref.get(p) ?? -1);
      }
      // prices never set, in the window and far from it
      for (const q of [bs.base, bs.base + WINDOW - 1, bs.base + WINDOW, bs.base - 1, 2 ** 40 + 1]) if (!ref.has(q)) assert.equal(bs.get(q), -1);
    }),
    { numRuns: 200 },
  );
  assert.ok(seen.maxOps >= 350, `longest run had only ${seen.maxOps} ops`);
  assert.ok(seen.maxLevels >= 100, `never more than ${seen.maxLevels} levels`);
  for (const [k, v] of Object.entries(seen)) assert.ok(v > 0, `never happened: ${k}`);
});
