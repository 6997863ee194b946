import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { encodeRecordLine, maxRecordLineBytes, parseRecordLine, writeRecordLine } from "./recordLine.ts";

/** The line as recordLine.ts's format comment spells it, built the plain way (strings, then bytes). */
function specLine(seq: bigint, json: string): Buffer {
  const head = `${seq}\t`;
  return Buffer.from(`${head}${crc32(json, crc32(head)).toString(16).padStart(8, "0")}\t${json}\n`, "utf8");
}

const seqs = fc.bigInt({ min: 1n, max: 2n ** 64n - 1n });
// JSON texts with escapes, non-ASCII and astral characters (what JSON.stringify may write).
const jsons = fc.oneof(fc.string({ unit: "binary" }).map((s) => JSON.stringify(s)), fc.jsonValue().map((v) => JSON.stringify(v)));

describe("journal record line", () => {
  it("encodeRecordLine writes the format's bytes, and they parse back", () => {
    fc.assert(
      fc.property(seqs, jsons, (seq, json) => {
        const line = encodeRecordLine(seq, json);
        assert.ok(line.equals(specLine(seq, json)));
        assert.deepEqual(parseRecordLine(line.subarray(0, -1)), { seq, json });
      }),
      { numRuns: 2000 },
    );
  });

  it("writeRecordLine packs lines back to back in one buffer within maxRecordLineBytes each", () => {
    let longest = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(seqs, jsons), { minLength: 1, maxLength: 20, size: "max" }), (records) => {
        longest = Math.max(longest, records.length);
        const buf = Buffer.alloc(records.reduce((n, [, json]) => n + maxRecordLineBytes(json), 0));
        let end = 0;
        for (const [seq, json] of records) {
          const next = writeRecordLine(buf, end, seq, json);
          assert.ok(next - end <= maxRecordLineBytes(json));
          end = next;
        }
        assert.ok(buf.subarray(0, end).equals(Buffer.concat(records.map(([seq, json]) => specLine(seq, json)))));
      }),
      { numRuns: 500 },
    );
    // A batch as long as the group commit packs, not only fast-check's default ~10.
    assert.ok(longest > 15, `longest batch ${longest}`);
  });
});
