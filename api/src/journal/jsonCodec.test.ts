import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeJson, encodeJson, encodeJsonWithBigints, encodeJsonYielding, formValue, keepEncoded, keepText, KeptText } from "./jsonCodec.ts";

// Values shaped like Sen's state: bigints, nested objects, long arrays of records, odd keys.
// `size: "max"` lets the arrays reach their maxLength (fast-check otherwise stops near 10),
// past SPLIT_AT (64) where the encoder splits an array into runs.
const record = fc.record({ id: fc.string(), qty: fc.bigInt(), price: fc.integer(), note: fc.option(fc.string(), { nil: undefined }), tags: fc.array(fc.string(), { maxLength: 3 }) });
const stateLike = fc.record({
  orders: fc.array(record, { maxLength: 300, size: "max" }),
  ledger: fc.dictionary(fc.string(), fc.dictionary(fc.string(), fc.bigInt()), { maxKeys: 80, size: "max" }),
  pairs: fc.array(fc.tuple(fc.string(), fc.oneof(record, fc.constant(null), fc.constant(undefined))), { maxLength: 150, size: "max" }),
  misc: fc.anything({ maxDepth: 4, withBigInt: true, withNullPrototype: true, withSparseArray: true }),
});
const SPLIT_AT = 64; // jsonCodec.ts splits arrays from this length on

function isStateLike(v: unknown): v is { orders: unknown[]; pairs: unknown[] } {
  return typeof v === "object" && v !== null && Array.isArray((v as { orders?: unknown }).orders) && Array.isArray((v as { pairs?: unknown }).pairs);
}

describe("encodeJsonYielding", () => {
  it("writes exactly the bytes encodeJson writes, whatever the value", async () => {
    // Runs whose arrays the encoder split (depth >= 2 reaches the arrays inside the state), and the most records one run encoded.
    const seen = { splitOrders: 0, splitOrdersPerElement: 0, splitPairs: 0, mostOrders: 0, yielded: 0 };
    await fc.assert(
      fc.asyncProperty(fc.oneof(stateLike, fc.anything({ maxDepth: 5, withBigInt: true, withSparseArray: true })), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 4 }), async (value, sliceMs, depth) => {
        if (isStateLike(value)) {
          const split = depth >= 2;
          if (split && value.orders.length >= 2 * SPLIT_AT) seen.splitOrders++;
          if (depth >= 3 && value.orders.length >= SPLIT_AT) seen.splitOrdersPerElement++;
          if (split && value.pairs.length >= SPLIT_AT) seen.splitPairs++;
          seen.mostOrders = Math.max(seen.mostOrders, value.orders.length);
        }
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
        // A timer that fires mid-encode shows the encoder paused for the event loop.
        let ticks = 0;
        const counter = setInterval(() => ticks++, 0);
        try {
          assert.equal(await encodeJsonYielding(value, sliceMs, depth), expected);
        } finally {
          clearInterval(counter);
        }
        if (ticks > 0) seen.yielded++;
      }),
      { numRuns: 300 },
    );
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `the values never exercised ${what}: ${JSON.stringify(seen)}`);
    assert.ok(seen.mostOrders >= 250, `the largest state had only ${seen.mostOrders} orders`);
  });

  it("writes the same bytes when records were kept (keepEncoded, keepText), the first time and when it reuses their texts", async () => {
    // Some records kept (0: not, 1: keepEncoded, 2: only their text), in long arrays (split into runs), short ones, and [account, records[]] pairs (the fills' shape).
    const withFills = fc.record({ state: stateLike, fills: fc.array(fc.tuple(fc.string(), fc.array(record, { maxLength: 100, size: "max" })), { maxLength: 4, size: "max" }), keep: fc.func(fc.integer({ min: 0, max: 2 })) });
    const seen = { reused: 0, mixed: 0, longRuns: 0, texts: 0, textsInLongRuns: 0, textsInSeveralFillLists: 0 };
    await fc.assert(
      fc.asyncProperty(withFills, fc.integer({ min: 1, max: 4 }), async ({ state, fills, keep }, depth) => {
        const value = structuredClone({ ...state, fills });
        const plain = structuredClone(value);
        const lists: unknown[][] = [value.orders, ...value.fills.map(([, fs]) => fs)];
        let kept = 0;
        let texts = 0;
        let rows = 0;
        for (const list of lists) {
          for (let j = 0; j < list.length; j++, rows++) {
            const how = keep(rows);
            if (how === 1) kept += keepEncoded(list[j] as object) === list[j] ? 1 : 0;
            if (how === 2) {
              const text = keepText(list[j] as object);
              assert.equal(encodeJson(formValue(text)), encodeJson(list[j]), "a kept text gives its value back");
              list[j] = text;
              texts++;
            }
          }
        }
        if (kept + texts > 0 && kept + texts < rows) seen.mixed++;
        const expected = encodeJson(plain);
        assert.equal(encodeJson(value), expected, "JSON.stringify writes a kept text's bytes");
        assert.equal(await encodeJsonYielding(value, 4, depth), expected);
        assert.equal(await encodeJsonYielding(value, 4, depth), expected, "second encode, kept texts reused");
        if (kept > 0) seen.reused++;
        if (texts > 0) seen.texts++;
        // Longer than one run of 64, so the split-array path ran with kept records in it.
        if (kept > 0 && value.orders.length > 64) seen.longRuns++;
        if (value.orders.length > 64 && value.orders.some((o) => o instanceof KeptText)) seen.textsInLongRuns++;
        if (value.fills.length >= 2 && value.fills.some(([, fs]) => (fs as unknown[]).some((f) => f instanceof KeptText))) seen.textsInSeveralFillLists++;
      }),
      { numRuns: 200 },
    );
    for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `the values never exercised ${what}: ${JSON.stringify(seen)}`);
  });

  it("encodes kept records in long arrays as JSON.stringify does, however the arrays change between snapshots", async () => {
    const record = (i: number) => ({ id: `o-${i}`, qty: String(i * 7), price: i, note: i % 3 ? undefined : "n\"q", stop: i % 5 ? undefined : { at: i } });
    // Kept both ways, as the capture keeps open orders (keepEncoded) and finished ones (keepText).
    const row = (i: number) => (i % 2 === 0 ? keepEncoded(record(i)) : keepText(record(i)));
    let orders = Array.from({ length: 300 }, (_, i) => row(i));
    const check = async (what: string) => {
      const state = { core: { orders, fills: [["a", orders.slice(-70)]] }, n: orders.length };
      assert.equal(await encodeJsonYielding(state), encodeJson(state), what);
    };
    await check("first encode");
    await check("same again");
    orders = [...orders, ...Array.from({ length: 100 }, (_, i) => row(300 + i))];
    await check("grown at the end");
    orders = orders.filter((_, i) => i !== 70);
    await check("one removed in the middle: later runs shifted");
    orders = [row(-1), ...orders];
    await check("one added in front");
    orders = orders.map((o, i) => (i === 200 ? row(9_999) : o));
    await check("one replaced inside a run");
    orders = orders.slice(0, 130);
    await check("cut short");
  });

  it("freezes what it keeps, nested objects too: a kept text can never go stale", () => {
    const form = keepEncoded({ id: "o-1", qty: 5n, stop: { stopPrice: 10, triggered: false } });
    assert.throws(() => {
      (form as { id: string }).id = "o-2";
    }, TypeError);
    assert.throws(() => {
      form.stop.triggered = true;
    }, TypeError);
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

describe("encodeJson", () => {
  it("writes what JSON.stringify with the bigint replacer writes, bigints or not (the fast path changes no byte)", () => {
    const tagged = (_k: string, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v);
    const seen = { withBigint: 0, withoutBigint: 0 };
    fc.assert(
      fc.property(fc.oneof(stateLike, fc.anything({ maxDepth: 5, withBigInt: true, withNullPrototype: true, withSparseArray: true, withDate: true, withBoxedValues: true }), fc.anything({ maxDepth: 3 })), (value) => {
        let expected: string | undefined | Error;
        try {
          expected = JSON.stringify(value, tagged);
        } catch (err) {
          expected = err as Error;
        }
        if (typeof expected !== "string") {
          assert.throws(() => encodeJson(value));
          assert.throws(() => encodeJsonWithBigints(value));
        } else {
          assert.equal(encodeJson(value), expected);
          assert.equal(encodeJsonWithBigints(value), expected);
          seen[expected.includes('"$bigint"') ? "withBigint" : "withoutBigint"]++;
        }
      }),
      { numRuns: 500 },
    );
    // Both paths were taken (the replacer's and the fast one), many times each.
    assert.ok(seen.withBigint >= 50 && seen.withoutBigint >= 50, JSON.stringify(seen));
    // Deeper than the scan follows: still tagged.
    let deep: unknown = { n: 5n };
    for (let i = 0; i < 40; i++) deep = { d: deep };
    assert.equal(encodeJson(deep), JSON.stringify(deep, tagged));
  });

  it("tags bigints in a copy (the value is left as it is), toJSON values, frozen ones and own __proto__ keys included", () => {
    const tagged = (_k: string, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v);
    const order = { orderId: "o-1", funds: 0n, price: 10_000, fee: 12n, stop: { stopPrice: 9_000, kind: "loss", triggered: false }, holdRemaining: -5n, apiKeyId: undefined, fills: [[1n, { a: 2n }], "x", null] };
    const proto: Record<string, unknown> = {};
    Object.defineProperty(proto, "__proto__", { value: 7n, enumerable: true, writable: true, configurable: true });
    const values: unknown[] = [
      { ok: true, value: order, seq: "12" },
      { ok: false, error: { name: "TradingError", code: "X", message: "m", details: { need: 5n, have: 1n } } },
      { ok: true, value: { when: new Date(0), big: 1n, toJSONLike: { toJSON: () => ({ inner: 7n }) } }, seq: "3" },
      { ok: true, value: Object.freeze({ frozen: 9n }), seq: "5" },
      { p: proto },
      [1n, [2n, [3n]]],
      5n,
    ];
    for (const v of values) {
      assert.equal(encodeJsonWithBigints(v), JSON.stringify(v, tagged));
      assert.equal(encodeJson(v), JSON.stringify(v, tagged));
    }
    assert.match(encodeJson({ p: proto }), /"__proto__":\{"\$bigint":"7"\}/);
    assert.equal(order.funds, 0n, "the value itself is left as it was");
  });
});

describe("decodeJson", () => {
  it("reads what the reviver reads, with or without tagged bigints and escapes (the plain path changes no value)", () => {
    const reviver = (_k: string, v: unknown) =>
      v !== null && typeof v === "object" && !Array.isArray(v) && typeof (v as Record<string, unknown>).$bigint === "string" && /^-?\d+$/.test((v as Record<string, string>).$bigint) && Object.keys(v).length === 1
        ? BigInt((v as Record<string, string>).$bigint)
        : v;
    const seen = { plain: 0, revived: 0 };
    const escapedTag = fc.constant('{"a":{"\\u0024bigint":"12"}}');
    fc.assert(
      fc.property(fc.oneof(fc.anything({ maxDepth: 4, withBigInt: true }).map((v) => { try { return encodeJson(v); } catch { return "null"; } }), fc.json(), escapedTag), (text) => {
        assert.deepEqual(decodeJson(text), JSON.parse(text, reviver));
        seen[text.includes('"$bigint"') || text.includes("\\u") ? "revived" : "plain"]++;
      }),
      { numRuns: 500 },
    );
    assert.ok(seen.plain >= 50 && seen.revived >= 50, JSON.stringify(seen));
    assert.equal((decodeJson('{"a":{"\\u0024bigint":"12"}}') as { a: bigint }).a, 12n);
  });
});
