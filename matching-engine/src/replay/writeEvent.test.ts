import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { EngineEvent } from "../events.ts";
import { formatEvent } from "./formatEvent.ts";
import { OutputBuffer } from "./outputBuffer.ts";
import { scanFast } from "./scanFast.ts";
import { writeEvent } from "./writeEvent.ts";

const str = fc.oneof({ weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(..."abc019-_ ") }) }, fc.string(), fc.string({ unit: "binary" }));
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
  fc.assert(
    fc.property(fc.array(event, { maxLength: 40 }), fc.nat(), (evs, line) => {
      const o = new OutputBuffer();
      const parts: Buffer[] = [];
      let want = "";
      for (const e of evs) {
        writeEvent(o, e, line);
        want += formatEvent(e, line) + "\n";
        if (o.full()) parts.push(o.take());
      }
      parts.push(o.take());
      assert.equal(Buffer.concat(parts).toString("utf8"), want);
    }),
    { numRuns: 1000 },
  );
  const o = new OutputBuffer();
  const e: EngineEvent = { type: "l2", symbol: "", side: "buy", price: 1, qty: 2, seq: 3 };
  for (let i = 0; i < 5000; i++) writeEvent(o, e, 0);
  assert.ok(o.full());
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
