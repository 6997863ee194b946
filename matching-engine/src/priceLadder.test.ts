import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { PriceLadder } from "./priceLadder.ts";

/** PriceLadder's chunk capacity: the runs below must grow chunks past it, or the splits go untested. */
const CHUNK = 256;

/**
 * Runs of consecutive keys fill one chunk past CHUNK quickly (single random
 * inserts would need thousands of ops), and removing a run of neighbouring
 * live keys is what empties a chunk in the middle of the ladder; removals
 * pick live keys because the book never removes a key it does not hold.
 */
type Op =
  | { k: "ins"; key: number }
  | { k: "insRun"; from: number; n: number; step: number }
  | { k: "del"; pick: number }
  | { k: "delRun"; pick: number; n: number }
  | { k: "pop" };

const key = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -20_000, max: 20_000 }) },
  fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("ins" as const), key }) },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant("insRun" as const), from: key, n: fc.integer({ min: 1, max: 2 * CHUNK }), step: fc.integer({ min: 1, max: 3 }) }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("del" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("delRun" as const), pick: fc.nat(), n: fc.integer({ min: 1, max: 2 * CHUNK }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("pop" as const) }) },
);

/** Index of the chunk a key goes to or comes from (what the ladder's chunkFor computes). */
function chunkOf(l: PriceLadder, k: number): number {
  const i = l.chunks.findIndex((c) => c[c.length - 1] >= k);
  return i < 0 ? l.chunks.length - 1 : i;
}

test("PriceLadder = a sorted array under inserts/removes, with chunk splits and emptied chunks at the end and in the middle", () => {
  const seen = { splitLast: 0, splitMiddle: 0, emptiedLast: 0, emptiedMiddle: 0, maxChunks: 0, maxOps: 0 };
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 200, size: "max" }), (ops) => {
      seen.maxOps = Math.max(seen.maxOps, ops.length);
      const l = new PriceLadder();
      const ref: number[] = []; // ascending
      const has = new Set<number>();
      const insert = (k: number) => {
        if (has.has(k)) return; // the book inserts a price only when its level is new
        const n = l.chunks.length;
        const at = n === 0 ? -1 : chunkOf(l, k);
        l.insert(k);
        if (n > 0 && l.chunks.length === n + 1) {
          if (at === n - 1) seen.splitLast++;
          else seen.splitMiddle++;
        }
        has.add(k);
        let lo = 0;
        let hi = ref.length;
        while (lo < hi) {
          const m = (lo + hi) >>> 1;
          if (ref[m] < k) lo = m + 1;
          else hi = m;
        }
        ref.splice(lo, 0, k);
      };
      const removeAt = (i: number) => {
        const k = ref[i];
        const n = l.chunks.length;
        const at = chunkOf(l, k);
        l.remove(k);
        if (l.chunks.length === n - 1) {
          if (at === n - 1) seen.emptiedLast++;
          else seen.emptiedMiddle++;
        }
        has.delete(k);
        ref.splice(i, 1);
      };
      for (const o of ops) {
        if (o.k === "ins") insert(o.key);
        else if (o.k === "insRun") for (let i = 0; i < o.n; i++) insert(o.from + i * o.step);
        else if (ref.length === 0) continue;
        else if (o.k === "del") removeAt(o.pick % ref.length);
        else if (o.k === "pop") removeAt(ref.length - 1);
        else {
          const at = o.pick % ref.length;
          for (let i = Math.min(o.n, ref.length - at); i > 0; i--) removeAt(at);
        }
        // chunk shape after every op: non-empty, within capacity, ordered across boundaries
        let total = 0;
        let prev = -Infinity;
        for (const c of l.chunks) {
          assert.ok(c.length >= 1 && c.length <= CHUNK, `chunk of ${c.length}`);
          assert.ok(c[0] > prev, "chunks out of order");
          prev = c[c.length - 1];
          total += c.length;
        }
        seen.maxChunks = Math.max(seen.maxChunks, l.chunks.length);
        assert.equal(total, ref.length);
        assert.equal(l.size, ref.length);
        assert.equal(l.max(), ref.length ? ref[ref.length - 1] : NaN);
      }
      const got: number[] = [];
      l.forEachDesc((k) => (got.push(k), true));
      assert.deepEqual(got, [...ref].reverse());
      // stopping early yields exactly the best few, also when they span chunks
      const want = Math.min(ref.length, CHUNK + 3);
      const best: number[] = [];
      l.forEachDesc((k) => (best.push(k), best.length < want));
      assert.deepEqual(best, ref.slice(ref.length - want).reverse());
    }),
    { numRuns: 200 },
  );
  assert.ok(seen.maxOps >= 150, `longest run had only ${seen.maxOps} ops`);
  assert.ok(seen.maxChunks >= 4, `never more than ${seen.maxChunks} chunks`);
  for (const [k, v] of Object.entries(seen)) assert.ok(v > 0, `never happened: ${k}`);
});
