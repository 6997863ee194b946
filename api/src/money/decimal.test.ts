import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { divCeil, formatUnits, parseUnits } from "./decimal.ts";

describe("decimal strings <-> smallest units", () => {
  it("parses within scale and refuses everything else", () => {
    assert.deepEqual(parseUnits("10500", 0), { ok: true, value: 10500n });
    assert.deepEqual(parseUnits("1.25", 2), { ok: true, value: 125n });
    assert.deepEqual(parseUnits("10.00", 0), { ok: true, value: 10n });
    assert.deepEqual(parseUnits("0.001", 2), { ok: false, reason: "precision" });
    for (const bad of ["", "-1", "1e3", " 1", "1.", ".5", "0x10", "1,5", "NaN", "Infinity"]) {
      assert.equal(parseUnits(bad, 2).ok, false, bad);
    }
  });

  it("format(parse(x)) is the canonical form and parse(format(v)) = v", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: 18 }), (v, d) => {
        const s = formatUnits(v, d);
        const back = parseUnits(s, d);
        assert.ok(back.ok && back.value === v);
      }),
    );
  });

  it("divCeil rounds up exactly", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 6n }), (a, b) => {
        const q = divCeil(a, b);
        assert.ok(q * b >= a && (q - 1n) * b < a);
      }),
    );
  });
});
