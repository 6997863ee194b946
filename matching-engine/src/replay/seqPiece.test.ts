import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { putPiece } from "./outputBuffer.ts";
import { SeqPiece } from "./seqPiece.ts";

test("SeqPiece gives the bytes of ',\"seq\":<n>}\\n' for any run of seqs: counted up in place (carries included) or jumped to", () => {
  const seen = { bumps: 0, carries: 0, newDigit: 0, jumps: 0, longest: 0 };
  // a start, then steps: mostly +1 (the book's order), now and then a jump anywhere (seq 0 rejections, a fresh start)
  const step = fc.oneof({ weight: 20, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: -(2 ** 53), max: 2 ** 53 }) });
  const start = fc.oneof(fc.nat(30), fc.constantFrom(9, 98, 999_990, 10 ** 15 - 5, 2 ** 53 - 20), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
  fc.assert(
    fc.property(start, fc.array(step, { minLength: 1, maxLength: 200, size: "max" }), (first, steps) => {
      const s = new SeqPiece();
      const out = new Uint8Array(64);
      const dv = new DataView(out.buffer);
      let seq = first;
      seen.longest = Math.max(seen.longest, steps.length);
      for (const d of steps) {
        const next = d === 1 ? seq + 1 : Math.abs(d);
        if (!Number.isSafeInteger(next)) continue;
        if (d === 1) {
          seen.bumps++;
          if (seq % 10 === 9) seen.carries++;
          if (String(next).length > String(seq).length) seen.newDigit++;
        } else seen.jumps++;
        seq = next;
        out.fill(0xa5);
        const n = putPiece(dv, 0, s.of(seq));
        assert.equal(Buffer.from(out.subarray(0, n)).toString("latin1"), `,"seq":${seq}}\n`);
      }
    }),
    { numRuns: 300 },
  );
  assert.ok(seen.longest > 150, `longest run ${seen.longest}`);
  assert.ok(seen.bumps > 10_000 && seen.carries > 1000 && seen.newDigit > 20 && seen.jumps > 300, JSON.stringify(seen));
});
