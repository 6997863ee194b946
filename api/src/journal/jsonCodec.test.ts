import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeJson, encodeJson, encodeJsonYielding } from "./jsonCodec.ts";

// Values shaped like Sen's state: bigints, nested objects, long arrays of records, odd keys.
const record = fc.record({ id: fc.string(), qty: fc.bigInt(), price: fc.integer(), note: fc.option(fc.string(), { nil: undefined }), tags: fc.array(fc.string(), { maxLength: 3 }) });
const stateLike = fc.record({
  orders: fc.array(record, { maxLength: 300 }),
  ledger: fc.dictionary(fc.string(), fc.dictionary(fc.string(), fc.bigInt()), { maxKeys: 80 }),
  pairs: fc.array(fc.tuple(fc.string(), fc.oneof(record, fc.constant(null), fc.constant(undefined))), { maxLength: 150 }),
  misc: fc.anything({ maxDepth: 4, withBigInt: true, withNullPrototype: true, withSparseArray: true }),
});

describe("encodeJsonYielding", () => {
  it("writes exactly the bytes encodeJson writes, whatever the value", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(stateLike, fc.anything({ maxDepth: 5, withBigInt: true, withSparseArray: true })), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 4 }), async (value, sliceMs, depth) => {
        let expected: string | Error;
        try {
          expected = encodeJson(value);
        } catch (err) {
          expected = err as Error;
        }
        if (expected instanceof Error) {
          await assert.rejects(encodeJsonYielding(value, sliceMs, depth), TypeError);
          return;
        }
        assert.equal(await encodeJsonYielding(value, sliceMs, depth), expected);
      }),
      { numRuns: 300 },
    );
  });

  it("lets the event loop run while it encodes a large state", async () => {
    const state = { orders: Array.from({ length: 200_000 }, (_, i) => ({ id: `o-${i}`, qty: BigInt(i) * 10n ** 20n, price: i, side: i % 2 ? "buy" : "sell" })) };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const text = await encodeJsonYielding(state, 2);
    clearInterval(timer);
    assert.ok(ticks >= 5, `the timer ran ${ticks} times during the encode`);
    assert.deepEqual(decodeJson(text), state);
  });
});
