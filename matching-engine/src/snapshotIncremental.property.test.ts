import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Command } from "./command.ts";
import { MatchingEngine } from "./engine.ts";
import type { EngineSnapshot, OrderSnapshot } from "./snapshot.ts";

/**
 * `snapshot()` hands out the previous capture's object for an order that did not change.
 * These properties check that such a capture is exactly the full one (same JSON, same state
 * once restored) after every kind of change a resting order goes through between two captures,
 * and that it re-copies only what changed.
 */

const ids = fc.nat(15).map((i) => `o${i}`);
const owner = fc.constantFrom("a", "b", "c");
const side = fc.constantFrom("buy" as const, "sell" as const);
const price = fc.integer({ min: 98, max: 102 });
const qty = fc.integer({ min: 1, max: 12 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.constant("limit" as const), id: ids, owner, side, price, qty }) },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant("limit" as const), id: ids, owner, side, price, qty: qty.map((q) => q + 10), displayQty: fc.integer({ min: 1, max: 4 }) }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("market" as const), id: ids, owner, side, qty }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("stop" as const), id: ids, owner, side, stopPrice: price, qty }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("cancel" as const), id: ids }) },
  {
    weight: 3,
    arbitrary: fc.record({ type: fc.constant("amend" as const), id: ids, price: fc.option(price, { nil: undefined, freq: 2 }), qty: fc.option(qty, { nil: undefined }) }),
  },
);
/** Segments of commands with a capture after each: up to 8 × 30 commands. */
const segments = fc.array(fc.array(command, { minLength: 1, maxLength: 30, size: "max" }), { minLength: 2, maxLength: 8, size: "max" });

const clean = (c: Command) => JSON.parse(JSON.stringify(c)) as Command;
const allOrders = (s: EngineSnapshot) => s.books.flatMap((b) => [...b.orders, ...b.stops]);

test("an incremental capture equals a full one and restores to the same state; only changed orders are copied", () => {
  const seen = new Map<string, number>();
  const count = (k: string, n = 1) => seen.set(k, (seen.get(k) ?? 0) + n);
  fc.assert(
    fc.property(segments, (segs) => {
      const e = new MatchingEngine({ symbols: [{ symbol: "S" }], l2: true });
      let prev = new Map<number, OrderSnapshot>();
      for (const seg of segs) {
        for (const c of seg) e.apply(clean(c));
        const inc = e.snapshot();
        const { reused, copied } = e.snapshotCost;
        const full = e.snapshot({ full: true });
        assert.equal(JSON.stringify(inc), JSON.stringify(full));
        assert.deepEqual(inc, full);
        const a = MatchingEngine.restore(JSON.parse(JSON.stringify(inc)) as EngineSnapshot);
        const b = MatchingEngine.restore(full);
        assert.equal(a.stateHash(), b.stateHash());
        assert.equal(MatchingEngine.restore(inc).stateHash(), e.stateHash());
        // copies happen for new or changed orders only; an unchanged order is the same object
        const orders = allOrders(inc);
        assert.equal(reused + copied, orders.length);
        let nReused = 0;
        for (const o of orders) {
          const before = prev.get(o.arrival);
          if (before === o) {
            nReused++;
            count("reused");
          } else if (before === undefined) count("new");
          else {
            assert.notDeepEqual(o, before, "an unchanged order was copied again");
            if (o.price !== before.price) count("amendedPrice");
            else if (o.hidden !== before.hidden) count("icebergSliceOrQtyChanged");
            else if (o.qty !== before.qty) count("partlyFilledOrReduced");
            else count("otherChange");
          }
        }
        assert.equal(nReused, reused);
        if (orders.length >= 10) count("capturesOf10+");
        prev = new Map(orders.map((o) => [o.arrival, o]));
      }
    }),
    { numRuns: 300 },
  );
  for (const k of ["reused", "new", "amendedPrice", "icebergSliceOrQtyChanged", "partlyFilledOrReduced", "capturesOf10+"]) {
    assert.ok((seen.get(k) ?? 0) > 0, `never exercised: ${k} (saw ${JSON.stringify(Object.fromEntries(seen))})`);
  }
});

test("a capture after restore starts afresh and later captures reuse again", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  for (let i = 0; i < 20; i++) e.apply({ type: "limit", id: `b${i}`, owner: "a", side: "buy", price: 90 + (i % 5), qty: 5 });
  const r = MatchingEngine.restore(JSON.parse(JSON.stringify(e.snapshot())) as EngineSnapshot);
  r.snapshot();
  assert.deepEqual(r.snapshotCost, { reused: 0, copied: 20 });
  r.apply({ type: "market", id: "m", owner: "z", side: "sell", qty: 7 });
  const s = r.snapshot();
  // the best bid was filled (gone), the next one partly filled: one copy, 18 reused
  assert.deepEqual(r.snapshotCost, { reused: 18, copied: 1 });
  assert.deepEqual(s, r.snapshot({ full: true }));
});
