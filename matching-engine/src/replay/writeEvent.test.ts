import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { EngineEvent } from "../events.ts";
import { formatEvent } from "./formatEvent.ts";
import { OutputBuffer, encodePiece, putPiece } from "./outputBuffer.ts";
import { scanFast } from "./scanFast.ts";
import { writeEvent } from "./writeEvent.ts";

/** OutputBuffer's chunk and slack sizes: the streams below must cross the one and overflow the other. */
const CHUNK = 1 << 16;
const SLACK = 1 << 12;

// A short string repeated: rare, but one such event outgrows the slack past the chunk and makes the buffer grow.
const long = fc.tuple(fc.string({ unit: "binary", minLength: 1, maxLength: 4 }), fc.integer({ min: 300, max: 1500 })).map(([s, n]) => s.repeat(n));
const str = fc.oneof(
  { weight: 40, arbitrary: fc.string({ unit: fc.constantFrom(..."abc019-_ ") }) },
  { weight: 10, arbitrary: fc.string() },
  { weight: 10, arbitrary: fc.string({ unit: "binary" }) },
  { weight: 1, arbitrary: long },
);
const num = fc.oneof({ weight: 4, arbitrary: fc.nat() }, fc.maxSafeInteger(), fc.integer({ min: -5, max: 5 }));
const side = fc.constantFrom("buy" as const, "sell" as const);
const event: fc.Arbitrary<EngineEvent> = fc.oneof(
  fc.record({ type: fc.constant("accepted" as const), symbol: str, id: str, owner: str, side, orderType: fc.constantFrom("limit" as const, "market" as const, "stop" as const), price: num, qty: num, seq: num }),
  fc.record({ type: fc.constant("rejected" as const), symbol: str, id: str, reason: fc.constant("ENGINE_INVALID_QTY" as const), seq: num }),
  fc.record({ type: fc.constant("trade" as const), symbol: str, maker: str, taker: str, price: num, qty: num, side, makerOwner: str, takerOwner: str, makerLeft: num, takerLeft: num, seq: num }),
  fc.record({ type: fc.constant("cancelled" as const), symbol: str, id: str, qty: num, left: num, reason: fc.constant("ENGINE_USER_CANCELLED" as const), seq: num }),
  fc.record({ type: fc.constant("amended" as const), symbol: str, id: str, price: num, qty: num, priorityKept: fc.boolean(), seq: num }),
  fc.record({ type: fc.constant("triggered" as const), symbol: str, id: str, stopPrice: num, lastPrice: num, seq: num }),
  fc.record({ type: fc.constant("l2" as const), symbol: str, side, price: num, qty: num, seq: num }),
);

test("writeEvent writes exactly formatEvent(e) + newline, across chunk boundaries", () => {
  const seen = { straddled: 0, grown: 0, maxEvents: 0 };
  fc.assert(
    fc.property(fc.array(event, { minLength: 1, maxLength: 300, size: "max" }), fc.nat(), (evs, line0) => {
      seen.maxEvents = Math.max(seen.maxEvents, evs.length);
      const o = new OutputBuffer();
      const parts: Buffer[] = [];
      let want = "";
      // the list is cycled until two chunks are out, so the boundary lands at a different event and offset in every run
      for (let i = 0; parts.length < 2; i++) {
        const e = evs[i % evs.length];
        const line = line0 + i;
        const before = o.pos;
        const buf = o.buf;
        writeEvent(o, e, line);
        want += formatEvent(e, line) + "\n";
        if (o.buf !== buf) seen.grown++;
        else if (before < CHUNK && o.pos > CHUNK) seen.straddled++;
        assert.equal(o.full(), o.pos >= CHUNK);
        if (o.full()) {
          parts.push(o.take());
          assert.equal(o.pos, 0);
        }
      }
      parts.push(o.take());
      for (const p of parts.slice(0, -1)) assert.ok(p.length >= CHUNK, `chunk of ${p.length} bytes handed over`);
      // earlier chunks are compared only now: writing on must not have touched what take() handed over
      const got = Buffer.concat(parts).toString("utf8");
      if (got !== want) {
        let i = 0;
        while (got[i] === want[i]) i++;
        assert.fail(`output differs at ${i}: ${JSON.stringify(got.slice(i - 40, i + 40))} != ${JSON.stringify(want.slice(i - 40, i + 40))}`);
      }
    }),
    { numRuns: 100 },
  );
  assert.ok(seen.maxEvents >= 250, `longest list had only ${seen.maxEvents} events`);
  assert.ok(seen.straddled > 0, "no event straddled a chunk boundary within the slack");
  assert.ok(seen.grown > 0, "no event outgrew the slack");
});

test("writeEvent at every offset up to the physical end of the buffer (pieces are copied in whole words)", () => {
  const big = 2 ** 53 - 1;
  // ten-digit integers are the longest the digit loop writes; escaped strings take the JSON.stringify path
  const samples: EngineEvent[] = [
    { type: "trade", symbol: "S", maker: "o1", taker: "o2", price: 2147483647, qty: 1000000000, side: "sell", makerOwner: "u1", takerOwner: "", makerLeft: 2147483647, takerLeft: big, seq: 2147483647 },
    { type: "trade", symbol: "S", maker: "o1", taker: "o2", price: 9, qty: 10, side: "buy", makerOwner: "u1", takerOwner: 'é"x', makerLeft: 0, takerLeft: 2147483648, seq: 9 },
    { type: "accepted", symbol: "S", id: "o2", owner: "u2", side: "buy", orderType: "stop", price: -1, qty: 1234567890, seq: 10 },
    { type: "cancelled", symbol: "S", id: "o5", qty: 2147483647, left: 1000000000, reason: "ENGINE_USER_CANCELLED", seq: 11 },
    { type: "cancelled", symbol: "S", id: "\u0001", qty: 5, left: 0, reason: "ENGINE_USER_CANCELLED", seq: 11 },
    { type: "rejected", symbol: "", id: "", reason: "ENGINE_INVALID_QTY", seq: 0 },
    { type: "amended", symbol: "S", id: "o3", price: 100, qty: 7, priorityKept: true, seq: big },
    { type: "triggered", symbol: "S", id: "o4", stopPrice: 1999999999, lastPrice: 2000000000, seq: 12 },
    { type: "l2", symbol: "S", side: "sell", price: 100, qty: 0, seq: 13 },
  ];
  const x = "x".charCodeAt(0);
  const filler = Buffer.alloc(new OutputBuffer().buf.length, x);
  for (const e of samples) {
    const line = formatEvent(e, 77) + "\n";
    for (let d = 0; d <= Buffer.byteLength(line) + 8; d++) {
      const o = new OutputBuffer();
      // a filler of known bytes up to exactly d bytes before the buffer's end
      const pos = o.buf.length - d;
      o.buf.fill(x, 0, pos);
      o.pos = pos;
      writeEvent(o, e, 77);
      const out = o.take();
      assert.ok(out.subarray(0, pos).equals(filler.subarray(0, pos)), `filler changed (${e.type} with ${d} bytes left)`);
      assert.equal(out.subarray(pos).toString("utf8"), line, `${e.type} with ${d} bytes left`);
    }
  }
});

test("scanFast returns what JSON.parse gives (minus ignored symbol/ts) or defers", () => {
  const key = fc.constantFrom("type", "id", "owner", "side", "price", "qty", "symbol", "ts", "tif");
  const value = fc.oneof(
    fc.constantFrom("limit", "market", "cancel", "amend", "buy", "sell", "o1", "u\\1", "é", ""),
    fc.nat(),
    fc.maxSafeInteger(),
    fc.integer({ min: -3, max: 3 }),
    fc.double(),
    fc.boolean(),
  );
  const shaped = fc.record({ type: fc.constantFrom("limit", "market", "cancel"), id: fc.string(), owner: fc.string(), side: side, price: fc.nat(), qty: fc.nat() }, { requiredKeys: ["type"] });
  fc.assert(
    fc.property(fc.oneof(fc.dictionary(key, value), shaped), fc.boolean(), (o, spaced) => {
      const text = spaced ? JSON.stringify(o, null, 1).replace(/\n/g, " ") : JSON.stringify(o);
      const buf = Buffer.from(text);
      const got = scanFast(buf, 0, buf.length);
      if (got === null) return;
      const want = JSON.parse(text) as Record<string, unknown>;
      delete want.symbol;
      delete want.ts;
      assert.deepEqual({ ...got }, want);
    }),
    { numRuns: 3000 },
  );
  const plain = Buffer.from('{"type":"limit","id":"o1","owner":"u1","side":"buy","price":10001,"qty":5}');
  assert.deepEqual({ ...scanFast(plain, 0, plain.length) }, { type: "limit", id: "o1", owner: "u1", side: "buy", price: 10001, qty: 5 });
});

test("encodePiece refuses bytes from 0x7f up (an eight-byte word of them could be a NaN)", () => {
  assert.throws(() => encodePiece("ab\u007f"), RangeError);
  assert.throws(() => encodePiece("é"), RangeError);
  const p = encodePiece('{"type":"trade","maker":"');
  const out = Buffer.alloc(40);
  const end = putPiece(new DataView(out.buffer, out.byteOffset, out.byteLength), 3, p);
  assert.equal(out.toString("latin1", 3, end), '{"type":"trade","maker":"');
});
