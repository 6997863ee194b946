import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { putAscii } from "./outputBuffer.ts";

test("putAscii copies exactly an ASCII span, by double and int32 words when the source has room past it and byte by byte at its end", () => {
  const seen = { words: 0, bytes: 0, long: 0, delTop: 0, fullTail: 0 };
  // ASCII bytes, with 0x7f (DEL) often: a word whose top byte is 0x7f is one step from a NaN's exponent
  const ascii = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 0x7f }) }, { weight: 1, arbitrary: fc.constant(0x7f) });
  // bytes past the source's spans may be anything (the next line's UTF-8): they are read, never written
  const any = fc.integer({ min: 0, max: 0xff });
  fc.assert(
    // size "max": fast-check 4 would otherwise make sources of at most ~10 bytes (never a span of several words).
    fc.property(fc.array(ascii, { minLength: 1, maxLength: 200, size: "max" }), fc.array(any, { maxLength: 8, size: "max" }), fc.nat(), fc.nat(), fc.nat({ max: 16 }), (body, tail, a, b, at) => {
      const src = Uint8Array.from([...body, ...tail]);
      const s = a % body.length;
      const n = b % (body.length - s + 1);
      const out = new Uint8Array(at + n + 8).fill(0xee);
      const end = putAscii(out, new DataView(out.buffer), at, src, new DataView(src.buffer, src.byteOffset, src.byteLength), s, n);
      if (s + n + 3 <= src.length) seen.words++;
      else seen.bytes++;
      if (n >= 32) seen.long++;
      if (tail.length === 8) seen.fullTail++;
      // double words copied whose top byte is 0x7f
      for (let i = s + 7; i < s + n; i += 8) if (src[i] === 0x7f) seen.delTop++;
      assert.equal(end, at + n);
      assert.deepEqual([...out.subarray(at, end)], [...src.subarray(s, s + n)]);
      assert.ok(out.subarray(0, at).every((x) => x === 0xee), "bytes before the span untouched");
    }),
    { numRuns: 2000 },
  );
  assert.ok(seen.words > 500 && seen.bytes > 50 && seen.long > 200 && seen.delTop > 100 && seen.fullTail > 100, JSON.stringify(seen));
});
