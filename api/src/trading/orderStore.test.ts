import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { orderFromRecord, type Order } from "../records/orders.ts";
import { OrderStore } from "./orderStore.ts";

const RETENTION_MS = 1_000;

function order(n: number, accountId: string, ts: number): Order {
  return orderFromRecord(
    { t: "place", ts, orderId: n.toString(16).padStart(24, "0"), accountId, identityHash: accountId, symbol: "GOLD-VND", side: "buy", type: "limit", price: 10_000, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: `c-${n}` },
    "VND",
    10_000n,
  );
}

describe("OrderStore: an account's orders", () => {
  it("lists each account's retained orders newest first, whatever finished and was dropped (property)", () => {
    // Each step places an order for one of three accounts, finishes one of its open ones, or
    // moves time on (dropping what finished more than the retention ago).
    const step = fc.oneof(
      { weight: 5, arbitrary: fc.record({ k: fc.constant("place" as const), account: fc.constantFrom("a", "b", "c") }) },
      { weight: 4, arbitrary: fc.record({ k: fc.constant("finish" as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant("time" as const), ms: fc.integer({ min: 1, max: 2_000 }) }) },
    );
    let mostDropped = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 800, size: "max" }), (steps) => {
        const store = new OrderStore(RETENTION_MS);
        const placed = new Map<string, Order[]>();
        const open: Order[] = [];
        let now = 0;
        let n = 0;
        let dropped = 0;
        for (const s of steps) {
          if (s.k === "place") {
            const o = order(++n, s.account, now);
            store.add(o);
            open.push(o);
            placed.set(s.account, [...(placed.get(s.account) ?? []), o]);
          } else if (s.k === "finish" && open.length > 0) {
            const [o] = open.splice(s.pick % open.length, 1);
            o.isActive = false;
            o.updatedAt = now;
            store.ended(o);
          } else if (s.k === "time") {
            now += s.ms;
            const before = store.byId.size;
            store.dropExpired(now);
            dropped += before - store.byId.size;
          }
          for (const [account, all] of placed) {
            // The model: every order placed for the account that the store still knows, newest first.
            const expected = all.filter((o) => store.byId.has(o.orderId)).reverse();
            assert.deepEqual(
              store.accountOrders(account).map((o) => o.orderId),
              expected.map((o) => o.orderId),
            );
          }
        }
        mostDropped = Math.max(mostDropped, dropped);
      }),
      { numRuns: 40 },
    );
    // More than twice the compaction threshold (64) dropped in one run: the list was compacted.
    assert.ok(mostDropped > 128, `no run dropped enough orders to compact a list: at most ${mostDropped}`);
  });

  it("forgets an account once its last order is dropped, and lists it again from its next one", () => {
    const store = new OrderStore(RETENTION_MS);
    const o = order(1, "a", 0);
    store.add(o);
    o.isActive = false;
    store.ended(o);
    store.dropExpired(RETENTION_MS + 1);
    assert.deepEqual(store.accountOrders("a"), []);
    store.add(order(2, "a", RETENTION_MS + 2));
    assert.deepEqual(
      store.accountOrders("a").map((x) => x.clientOid),
      ["c-2"],
    );
  });
});
