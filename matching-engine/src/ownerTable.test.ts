import assert from "node:assert/strict";
import { test } from "node:test";
import { EngineCode } from "./codes.ts";
import { MatchingEngine } from "./engine.ts";
import type { EngineEvent } from "./events.ts";
import { collectEvents } from "./events.ts";
import type { OrderPool } from "./orderPool.ts";

const pool = (e: MatchingEngine) => (e as unknown as { pool: OrderPool }).pool;
const internedOwners = (e: MatchingEngine) => pool(e).ownerIndex.size;

/** Owners that came and went: enough of them that the next order sweeps the owner table. */
function churnOwners(e: MatchingEngine, n = 5000): void {
  for (let i = 0; i < n; i++) e.apply({ type: "market", id: `x${i}`, owner: `x${i}`, side: "buy", qty: 1 });
}

function run(e: MatchingEngine, cmds: object[]): EngineEvent[] {
  const ev: EngineEvent[] = [];
  for (const c of cmds) e.apply(c as never, collectEvents(ev));
  return ev;
}

test("a stream of one-off owners keeps the owner table at the size of the book", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  let peak = 0;
  for (let i = 0; i < 50_000; i++) {
    const buy = i % 2 === 0;
    e.apply({ type: "limit", id: `o${i}`, owner: `w${i}`, side: buy ? "buy" : "sell", price: buy ? 99 + (i % 3) : 100 + (i % 3), qty: 1 + (i % 5) });
    if (i % 3 === 0) e.apply({ type: "cancel", id: `o${i - 30}` });
    peak = Math.max(peak, e.liveOrders());
  }
  assert.ok(e.liveOrders() > 100, `book too thin to mean anything: ${e.liveOrders()}`);
  // swept whenever the table doubles past the owners still in use (at least 4096)
  assert.ok(internedOwners(e) <= Math.max(4096, 2 * peak) + 1, `owner table ${internedOwners(e)} for at most ${peak} live orders`);
});

test("a reused owner slot does not make strangers look like one owner, nor one owner like strangers", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  // t's order finds nothing and ends; after the churn t is forgotten and u gets a reused slot
  run(e, [{ type: "market", id: "t1", owner: "t", side: "buy", qty: 1 }]);
  const tWas = pool(e).ownerIndex.get("t");
  churnOwners(e);
  const ev = run(e, [
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
  // the slots really were reused: u and t's return got ids of forgotten owners
  const ids = [pool(e).ownerIndex.get("u"), pool(e).ownerIndex.get("t")];
  assert.ok(ids.every((i) => i !== undefined && i < 5001), `expected reused owner ids, got ${ids.join(", ")} (t was ${tWas})`);
});

test("an owner id handed out by ownerIndex stays valid when the owner has no live orders", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  const p = e.ownerIndex("p");
  run(e, [
    { type: "limit", id: "p1", owner: "p", side: "buy", price: 100, qty: 1 },
    { type: "cancel", id: "p1" },
  ]);
  churnOwners(e);
  // would take p's slot if p had been forgotten
  run(e, [{ type: "limit", id: "q1", owner: "q", side: "buy", price: 100, qty: 1 }]);
  assert.ok(pool(e).ownerIndex.has("p"));
  assert.equal(e.ownerIndex("p"), p);
  const ev: EngineEvent[] = [];
  e.placeLimit(e.bookIndex("S"), p, 1, 100, 1, 0, "p2", collectEvents(ev));
  const t = ev.find((x) => x.type === "trade");
  assert.ok(t?.type === "trade" && t.takerOwner === "p" && t.makerOwner === "q");
});
