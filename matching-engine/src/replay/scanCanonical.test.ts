import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { scanCanonical } from "./scanCanonical.ts";
import { fastLine, scanSpans } from "./scanFast.ts";

const str = fc.oneof(
  { weight: 10, arbitrary: fc.string({ unit: fc.constantFrom(..."ab019-_ "), maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom("x".repeat(200), 'a"b', "a\\b") },
);
const num = fc.oneof({ weight: 10, arbitrary: fc.nat(1_000_000) }, fc.constantFrom(0, 10 ** 15 - 1, 10 ** 15, 2 ** 53));
const side = fc.constantFrom("buy", "sell", "Buy", "");
const command = fc.oneof(
  fc.record({ type: fc.constant("limit"), id: str, owner: str, side, price: num, qty: num }),
  fc.record({ type: fc.constant("market"), id: str, owner: str, side, qty: num }),
  fc.record({ type: fc.constant("cancel"), id: str }),
);
/** A canonical line, or one damaged at a random byte (insert, delete, replace), or cut short. */
const line = fc.tuple(command, fc.option(fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace", "cut"), fc.constantFrom(..." \"{},:0a\\\r\n.-e")), { freq: 2 }));

function snapshot() {
  return { ...fastLine };
}

test("scanCanonical takes only lines scanSpans takes, reads them the same, and takes every plain JSON.stringify command", () => {
  const seen = { accepted: 0, declined: 0, damagedAccepted: 0 };
  fc.assert(
    fc.property(line, fc.nat(3), fc.nat(3), ([cmd, damage], before, after) => {
      let text = JSON.stringify(cmd);
      if (damage !== null) {
        const [at, how, ch] = damage;
        const i = at % (text.length + 1);
        if (how === "insert") text = text.slice(0, i) + ch + text.slice(i);
        else if (how === "delete") text = text.slice(0, i) + text.slice(i + 1);
        else if (how === "replace") text = text.slice(0, i) + ch + text.slice(i + 1);
        else text = text.slice(0, i);
      }
      // the line sits inside a chunk, other bytes before and after it
      const buf = Buffer.from("\n".repeat(before) + text + "\n" + "{".repeat(after));
      const s = before;
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const nl = scanCanonical(buf, dv, s, buf.length);
      if (nl < 0) {
        seen.declined++;
        const plain = damage === null && /^[\x20-\x7e]*$/.test(JSON.stringify(cmd)) && !/[\\]/.test(JSON.stringify(cmd));
        const numbersOk = Object.values(cmd).every((v) => typeof v !== "number" || v < 10 ** 15);
        const sideOk = !("side" in cmd) || cmd.side === "buy" || cmd.side === "sell";
        assert.ok(!(plain && numbersOk && sideOk), `declined a plain line: ${text}`);
        return;
      }
      seen.accepted++;
      if (damage !== null) seen.damagedAccepted++;
      assert.equal(buf[nl], 10);
      const got = snapshot();
      assert.ok(scanSpans(buf, s, nl), `scanSpans refuses what scanCanonical took: ${text}`);
      assert.deepEqual(got, snapshot(), text);
    }),
    { numRuns: 3000 },
  );
  assert.ok(seen.accepted > 500 && seen.declined > 300, JSON.stringify(seen));
});

test("scanCanonical: a line cut by the chunk's end is left to the general path", () => {
  const text = '{"type":"limit","id":"o1","owner":"u1","side":"buy","price":10001,"qty":5}\n';
  const buf = Buffer.from(text);
  for (let end = 0; end < buf.length; end++) {
    const dv = new DataView(buf.buffer, buf.byteOffset, end);
    assert.equal(scanCanonical(buf, dv, 0, end), -1, `end ${end}`);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  assert.equal(scanCanonical(buf, dv, 0, buf.length), buf.length - 1);
  assert.deepEqual(
    { ...fastLine },
    { type: 1, idStart: 22, idLen: 2, ownerStart: 35, ownerLen: 2, buy: true, price: 10001, qty: 5 },
  );
});
