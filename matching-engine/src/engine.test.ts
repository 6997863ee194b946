import assert from "node:assert/strict";
import { test } from "node:test";
import { EngineCode } from "./codes.ts";
import { MatchingEngine } from "./engine.ts";
import type { EngineEvent } from "./events.ts";
import { collectEvents } from "./events.ts";

function run(engine: MatchingEngine, cmds: object[]): EngineEvent[] {
  const ev: EngineEvent[] = [];
  for (const c of cmds) engine.apply(c as never, collectEvents(ev));
  return ev;
}

test("market protection band in bps stops the sweep and says why", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S", bandBps: 100 }] });
  const ev = run(e, [
    { type: "limit", id: "a1", owner: "m", side: "sell", price: 10000, qty: 1 },
    { type: "limit", id: "a2", owner: "m", side: "sell", price: 10100, qty: 1 },
    { type: "limit", id: "a3", owner: "m", side: "sell", price: 10101, qty: 1 },
    { type: "market", id: "t", owner: "u", side: "buy", qty: 5 },
  ]);
  assert.deepEqual(ev.filter((x) => x.type === "trade").map((x) => x.type === "trade" && x.price), [10000, 10100]);
  const c = ev.at(-1);
  assert.ok(c?.type === "cancelled" && c.reason === EngineCode.MARKET_PRICE_BAND && c.qty === 3);
});

test("market by funds is exact near 2^53 (bigint notional)", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  const price = 2 ** 40 + 1;
  const funds = Number.MAX_SAFE_INTEGER; // affords floor((2^53-1)/(2^40+1)) = 8191 lots
  const ev = run(e, [
    { type: "limit", id: "a", owner: "m", side: "sell", price, qty: 100000 },
    { type: "market", id: "t", owner: "u", side: "buy", funds },
  ]);
  const t = ev.find((x) => x.type === "trade");
  assert.ok(t?.type === "trade");
  assert.equal(BigInt(t.qty), BigInt(funds) / BigInt(price));
});

test("bad input is rejected with a code, never thrown; beyond 2^53 too", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S", tickSize: 5, lotSize: 10 }] });
  const bad: [object, string][] = [
    [{ type: "limit", id: "x", owner: "u", side: "buy", price: 2 ** 53, qty: 10 }, EngineCode.INVALID_PRICE],
    [{ type: "limit", id: "x", owner: "u", side: "buy", price: 7, qty: 10 }, EngineCode.PRICE_NOT_ON_TICK],
    [{ type: "limit", id: "x", owner: "u", side: "buy", price: 5, qty: 15 }, EngineCode.QTY_NOT_ON_LOT],
    [{ type: "limit", id: "x", owner: "u", side: "up", price: 5, qty: 10 }, EngineCode.INVALID_SIDE],
    [{ type: "limit", symbol: "NOPE", id: "x", owner: "u", side: "buy", price: 5, qty: 10 }, EngineCode.UNKNOWN_SYMBOL],
    [{ type: "limit", id: "x", owner: "u", side: "buy", price: 5, qty: 10, stp: "toString" }, EngineCode.INVALID_STP],
    [{ type: "explode" }, EngineCode.UNKNOWN_COMMAND],
    [{ type: "cancel", id: "zz" }, EngineCode.UNKNOWN_ORDER],
  ];
  for (const [c, code] of bad) assert.equal(e.apply(c as never), code, JSON.stringify(c));
  assert.equal(e.apply(null as never), EngineCode.MALFORMED_COMMAND);
});

test("beneficial owner STP catches two wallets of one person; cancelAll is a kill switch", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }, { symbol: "T" }] });
  const ev = run(e, [
    { type: "limit", symbol: "S", id: "w1", owner: "wallet1", beneficialOwner: "eid:alice", side: "sell", price: 10, qty: 5 },
    { type: "limit", symbol: "S", id: "w2", owner: "wallet2", beneficialOwner: "eid:alice", side: "buy", price: 10, qty: 5 },
    { type: "limit", symbol: "T", id: "w3", owner: "wallet1", side: "buy", price: 9, qty: 5 },
    { type: "stop", symbol: "T", id: "w4", owner: "wallet1", side: "sell", stopPrice: 3, qty: 5 },
    { type: "cancelAll", owner: "wallet1" },
  ]);
  assert.equal(ev.filter((x) => x.type === "trade").length, 0);
  assert.ok(ev.some((x) => x.type === "cancelled" && x.id === "w2" && x.reason === EngineCode.STP_CANCEL_NEWEST));
  assert.deepEqual(
    ev.filter((x) => x.type === "cancelled" && x.reason === EngineCode.CANCEL_ALL).map((x) => x.type === "cancelled" && x.id),
    ["w1", "w3", "w4"],
  );
  assert.equal(e.liveOrders(), 0);
});
