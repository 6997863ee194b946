import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { firstDuplicateKey } from "./duplicateKeys.ts";

describe("duplicate JSON keys", () => {
  it("finds a key repeated in the same object, at any depth, and nothing else", () => {
    assert.equal(firstDuplicateKey('{"side":"buy","size":"1","side":"sell"}'), "side");
    assert.equal(firstDuplicateKey('{"a":{"x":1,"x":2}}'), "x");
    assert.equal(firstDuplicateKey('[{"a":1},{"a":2}]'), undefined, "same key in sibling objects is fine");
    assert.equal(firstDuplicateKey('{"a":{"a":{"a":1}}}'), undefined, "same key at different depths is fine");
    assert.equal(firstDuplicateKey('{"\\u0061":1,"a":2}'), "a", "escapes are compared decoded, as JSON.parse sees them");
  });

  it("refuses (throws) a body nested deeper than any request needs, instead of overflowing the stack", () => {
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    assert.doesNotThrow(() => JSON.parse(deep));
    assert.throws(() => firstDuplicateKey(deep), RangeError);
    assert.equal(firstDuplicateKey(`{"a":"${"[".repeat(500)}"}`), undefined, "brackets inside strings do not count");
  });

  it("agrees with JSON.parse: a body has a duplicate exactly when its parse lost a key", () => {
    let duplicates = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("a", "b", "c", "side", "size"), fc.jsonValue({ maxDepth: 1 })), { maxLength: 8, size: "max" }), (pairs) => {
        const text = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
        const lost = Object.keys(JSON.parse(text)).length < pairs.length;
        const dup = firstDuplicateKey(text);
        if (dup !== undefined) duplicates++;
        assert.equal(dup !== undefined, lost, text);
      }),
      { numRuns: 300 },
    );
    assert.ok(duplicates > 30, `${duplicates} bodies with duplicates`);
  });
});
