import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { visit } from "jsonc-parser";
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

  it("agrees with a full JSON visitor (jsonc-parser's) on nested bodies, escapes and blanks", () => {
    const reference = (json: string): string | undefined => {
      const open: Array<Set<string>> = [];
      let found: string | undefined;
      visit(json, {
        onObjectBegin: () => void open.push(new Set()),
        onObjectEnd: () => void open.pop(),
        onObjectProperty: (key) => {
          const keys = open[open.length - 1]!;
          if (found === undefined && keys.has(key)) found = key;
          keys.add(key);
        },
      });
      return found;
    };
    // Keys spelled several ways (escaped, with quotes, backslashes and colons inside), values
    // that are strings looking like keys, and JSON's blanks between every token.
    const key = fc.constantFrom('"a"', '"\\u0061"', '"b"', '"a:b"', '"\\""', '"\\\\"', '"x\\\\"', '""', '"side"');
    const blank = fc.constantFrom("", " ", "\n", "\t ", "\r\n");
    const { value } = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
      value: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.constantFrom('"a"', '":"', "1", "true", "null", '"\\u0061"'), tie("object"), tie("array")),
      object: fc.array(fc.tuple(blank, key, blank, tie("value")), { maxLength: 5 }).map((ps) => `{${ps.map(([s, k, t, v]) => `${s}${k}${t}:${t}${v}${s}`).join(",")}}`),
      array: fc.array(tie("value"), { maxLength: 4 }).map((vs) => `[${vs.join(" , ")}]`),
    }));
    let duplicates = 0;
    fc.assert(
      fc.property(value, (text) => {
        JSON.parse(text);
        const dup = firstDuplicateKey(text);
        if (dup !== undefined) duplicates++;
        assert.equal(dup, reference(text), text);
      }),
      { numRuns: 2000 },
    );
    assert.ok(duplicates > 100, `${duplicates} bodies with duplicates`);
  });
});
