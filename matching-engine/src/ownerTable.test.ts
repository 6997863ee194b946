import assert from "node:assert/strict";
import { test } from "node:test";
import { EngineCode } from "./codes.ts";
import { MatchingEngine } from "./engine.ts";
import type { EngineEvent } from "./events.ts";
import { collectEvents } from "./events.ts";
import type { OrderPool } from "./orderPool.ts";

const internedOwners = (e: MatchingEngine) => (e as unknown as { pool: OrderPool }).pool.ownerIndex.size;

function run(e: MatchingEngine, cmds: object[]): EngineEvent[] {
  const ev: EngineEvent[] = [];
  for (const c of cmds) e.apply(c as never, collectEvents(ev));
  return ev;
}

test("a stream of one-off owners keeps the owner table at the size of the book", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  for (let i = 0; i < 20_000; i++) {
    const buy = i % 2 === 0;
    e.apply({ type: "limit", id: `o${i}`, owner: `w${i}`, side: buy ? "buy" : "sell", price: buy ? 99 + (i % 3) : 100 + (i % 3), qty: 1 + (i % 5) });
    if (i % 3 === 0) e.apply({ type: "cancel", id: `o${i - 30}` });
  }
  assert.ok(e.liveOrders() > 100, `book too thin to mean anything: ${e.liveOrders()}`);
  // one name per owner that still has a live order (each order has its own owner here)
  assert.equal(internedOwners(e), e.liveOrders());
});

test("a reused owner slot does not make strangers look like one owner, nor one owner like strangers", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  // t's order finds nothing and ends: t is forgotten, u gets its slot
  const ev = run(e, [
    { type: "market", id: "t1", owner: "t", side: "buy", qty: 1 },
    { type: "limit", id: "u1", owner: "u", side: "buy", price: 100, qty: 5 },
    // t comes back (a new slot) and sells into u: strangers trade
    { type: "limit", id: "t2", owner: "t", side: "sell", price: 100, qty: 2 },
    // u sells into its own bid: self-trade prevention, not a trade
    { type: "limit", id: "u2", owner: "u", side: "sell", price: 100, qty: 1 },
  ]);
  const trades = ev.filter((x) => x.type === "trade");
  assert.equal(trades.length, 1);
  assert.ok(trades[0].type === "trade" && trades[0].makerOwner === "u" && trades[0].takerOwner === "t");
  assert.ok(ev.some((x) => x.type === "cancelled" && x.id === "u2" && x.reason === EngineCode.STP_CANCEL_NEWEST));
  assert.deepEqual(e.snapshot().books[0].orders.map((o) => [o.id, o.owner, o.qty]), [["u1", "u", 3]]);
});

test("an owner id handed out by ownerIndex stays valid when the owner has no live orders", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  const p = e.ownerIndex("p");
  run(e, [
    { type: "limit", id: "p1", owner: "p", side: "buy", price: 100, qty: 1 },
    { type: "cancel", id: "p1" },
    // would take p's slot if p had been forgotten
    { type: "limit", id: "q1", owner: "q", side: "buy", price: 100, qty: 1 },
  ]);
  assert.equal(e.ownerIndex("p"), p);
  const ev: EngineEvent[] = [];
  e.placeLimit(e.bookIndex("S"), p, 1, 100, 1, 0, "p2", collectEvents(ev));
  const t = ev.find((x) => x.type === "trade");
  assert.ok(t?.type === "trade" && t.takerOwner === "p" && t.makerOwner === "q");
});
