import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import { copyOrder, ORDER_FIELDS, sameOrder, STOP_FIELDS } from "./captureCache.ts";
import type { Order } from "../records/orders.ts";
import type { TradingRecord } from "../records/tradingRecords.ts";
import { TradingCore, type TradingCoreOptions, type TradingCoreSnapshot } from "./tradingCore.ts";
import { formValue } from "../journal/jsonCodec.ts";

const options = (): TradingCoreOptions => ({ catalog: defaultCatalog(), feeAccount: "fees", taxAccount: "tax", volatility: { windowMs: 60_000, bandBps: 2_000, haltMs: 30_000 } });

/** A value of the same kind that differs from v. */
function other(v: unknown): unknown {
  if (typeof v === "number") return v + 1;
  if (typeof v === "bigint") return v + 1n;
  if (typeof v === "boolean") return !v;
  if (typeof v === "string") return `${v}x`;
  return "set";
}

const ORDER: Order = {
  orderId: "o1",
  clientOid: "c1",
  accountId: "a",
  identityHash: "h",
  symbol: "GOLD-VND",
  side: "buy",
  type: "limit",
  price: 10_000,
  size: 5,
  funds: 0n,
  tif: "GTC",
  postOnly: false,
  visibleSize: 0,
  stp: "CN",
  stop: { stopPrice: 9_000, kind: "loss", triggered: false },
  createdAt: 1,
  updatedAt: 1,
  isActive: true,
  cancelExist: false,
  dealSize: 0,
  dealFunds: 0n,
  fee: 0n,
  feeBasis: 0n,
  holdCurrency: "VND",
  holdRemaining: 50_000n,
};
describe("capture cache comparators", () => {
  it("see a change in every field of an order and its stop", () => {
    assert.ok(sameOrder(ORDER, copyOrder(ORDER)));
    for (const k of Object.keys(ORDER_FIELDS) as (keyof Order)[]) {
      if (k === "stop") continue;
      const changed = { ...ORDER, [k]: other(ORDER[k]) } as Order;
      assert.equal(sameOrder(changed, copyOrder(ORDER)), false, `order field ${k}`);
    }
    for (const k of Object.keys(STOP_FIELDS) as (keyof NonNullable<Order["stop"]>)[]) {
      const o = copyOrder(ORDER);
      (o.stop as Record<string, unknown>)[k] = other(ORDER.stop?.[k]);
      assert.equal(sameOrder(o, copyOrder(ORDER)), false, `stop field ${k}`);
    }
    assert.equal(sameOrder({ ...ORDER, stop: undefined }, copyOrder(ORDER)), false, "stop removed");
    // the copy is deep enough: mutating the live stop in place is seen
    const live = copyOrder(ORDER);
    const from = copyOrder(live);
    (live.stop as { triggered: boolean }).triggered = true;
    assert.equal(sameOrder(live, from), false, "stop mutated in place");
  });
});

const ACCOUNTS = ["a1", "a2", "a3"];
const step = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant("limit" as const),
      a: fc.nat(2),
      buy: fc.boolean(),
      ticks: fc.integer({ min: -3, max: 3 }),
      q: fc.integer({ min: 1, max: 30 }),
      peak: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined, freq: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("market" as const), a: fc.nat(2), buy: fc.boolean(), q: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("stop" as const), a: fc.nat(2), buy: fc.boolean(), ticks: fc.integer({ min: -2, max: 2 }), q: fc.integer({ min: 1, max: 10 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("cancel" as const), n: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("amend" as const), n: fc.nat(), q: fc.integer({ min: 1, max: 30 }) }) },
  // Settlement marks fills in place and takes trades out of the book: a later capture must show it.
  { weight: 2, arbitrary: fc.record({ k: fc.constant("settle" as const), n: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("fail" as const), n: fc.nat() }) },
  // What the snapshot schedule does after each live record, with a small keep and budget.
  { weight: 3, arbitrary: fc.record({ k: fc.constant("formAhead" as const), keep: fc.nat(3), budget: fc.integer({ min: 1, max: 4 }) }) },
);
/** Segments of steps with a capture after each: up to 8 × 25. */
const segments = fc.array(fc.array(step, { minLength: 1, maxLength: 25, size: "max" }), { minLength: 2, maxLength: 8, size: "max" });

const json = (s: TradingCoreSnapshot) => JSON.stringify(s);

describe("trading core snapshot", () => {
  it("an incremental capture equals a full one, restores to the same state, and reuses only unchanged orders and fills", () => {
    const seen = new Map<string, number>();
    const count = (k: string, n = 1) => seen.set(k, (seen.get(k) ?? 0) + n);
    fc.assert(
      fc.property(segments, (segs) => {
        const core = new TradingCore(options());
        let ts = 1_700_000_000_000;
        const apply = (r: TradingRecord) => core.apply({ ...r, ts: (ts += 250) } as TradingRecord);
        for (const a of ACCOUNTS) {
          apply({ t: "deposit", ts: 0, accountId: a, currency: "VND", amount: "100000000000", ref: `v-${a}` });
          apply({ t: "deposit", ts: 0, accountId: a, currency: "GOLD", amount: "1000000", ref: `g-${a}` });
        }
        const placed: { orderId: string; accountId: string }[] = [];
        let prev: TradingCoreSnapshot | null = null;
        for (const seg of segs) {
          for (const s of seg) {
            if (s.k === "formAhead") {
              count("formedAhead", core.formAhead(s.keep, s.budget));
              continue;
            }
            if (s.k === "settle" || s.k === "fail") {
              if (core.tradeCount === 0) continue;
              const tradeId = ((s.n % core.tradeCount) + 1).toString(16).padStart(24, "0");
              if (s.k === "settle") apply({ t: "settled", ts: 0, tradeIds: [tradeId], txHash: `0x${s.n.toString(16)}` });
              else apply({ t: "settleFailed", ts: 0, tradeId, reason: "ERC7943CannotReceive" });
              continue;
            }
            if (s.k === "cancel" || s.k === "amend") {
              if (placed.length === 0) continue;
              const o = placed[placed.length - 1 - (s.n % Math.min(placed.length, 8))];
              if (s.k === "cancel") apply({ t: "cancel", ts: 0, ...o });
              else apply({ t: "amend", ts: 0, ...o, size: s.q });
              continue;
            }
            const orderId = `o${placed.length + 1}`;
            const accountId = ACCOUNTS[s.a];
            placed.push({ orderId, accountId });
            const common = { t: "place" as const, ts: 0, orderId, accountId, identityHash: accountId, symbol: "GOLD-VND", side: s.buy ? ("buy" as const) : ("sell" as const), clientOid: `c${orderId}`, stp: "CO" as const, tif: "GTC" as const, postOnly: false };
            if (s.k === "limit") apply({ ...common, type: "limit", price: 10_000 + 100 * s.ticks, size: s.q, visibleSize: s.peak !== undefined && s.peak < s.q ? s.peak : undefined });
            else if (s.k === "market") apply({ ...common, type: "market", size: s.q });
            else apply({ ...common, type: "market", size: s.q, stop: { stopPrice: 10_000 + 100 * s.ticks, kind: s.buy ? "entry" : "loss" } });
          }
          const inc = core.snapshot();
          const full = core.snapshot({ full: true });
          assert.equal(json(inc), json(full));
          const restored = TradingCore.restore(JSON.parse(json(inc)) as TradingCoreSnapshot, options());
          assert.equal(json(restored.snapshot({ full: true })), json(full));
          // what was reused: the same object as in the previous capture, never for a changed order or fill
          if (prev !== null) {
            // Finished orders, fills and trades are held as their kept text: decoded to be looked at.
            const before = new Map(prev.orders.map((o) => [formValue(o).orderId, o]));
            for (const o of inc.orders) {
              const now = formValue(o);
              const b = before.get(now.orderId);
              if (b === undefined) count("newOrder");
              else if (b === o) count("orderReused");
              else {
                assert.notEqual(JSON.stringify(b), JSON.stringify(o), "an unchanged order was converted again");
                count(now.isActive ? "liveOrderChanged" : formValue(b).isActive ? "orderFinished" : "finishedOrderChanged");
              }
            }
            const fillsBefore = new Map(prev.fills.flatMap(([a, fs]) => fs.map((f) => [`${a} ${formValue(f).tradeId}`, f] as const)));
            for (const [a, fs] of inc.fills) {
              for (const f of fs) {
                const b = fillsBefore.get(`${a} ${formValue(f).tradeId}`);
                if (b === undefined) count("newFill");
                else if (b === f) count("fillReused");
                else {
                  assert.notEqual(JSON.stringify(b), JSON.stringify(f), "an unchanged fill was converted again");
                  count("fillMarked");
                }
              }
            }
            const tradesBefore = new Set(prev.unsettled);
            for (const t of inc.unsettled) count(tradesBefore.has(t) ? "tradeReused" : "newTrade");
          }
          prev = inc;
        }
      }),
      { numRuns: 60 },
    );
    for (const k of ["newOrder", "orderReused", "liveOrderChanged", "orderFinished", "fillReused", "newFill", "fillMarked", "tradeReused", "newTrade", "formedAhead"]) {
      assert.ok((seen.get(k) ?? 0) > 0, `never exercised: ${k} (saw ${JSON.stringify(Object.fromEntries(seen))})`);
    }
  });

  it("forms made ahead after each record leave the capture about `keep` of each kind, and a restored state is worked off within the budget", () => {
    const core = new TradingCore(options());
    let ts = 1_700_000_000_000;
    const apply = (r: TradingRecord) => core.apply({ ...r, ts: (ts += 250) } as TradingRecord);
    for (const a of ["a1", "a2"]) {
      apply({ t: "deposit", ts: 0, accountId: a, currency: "VND", amount: "100000000000000", ref: `v-${a}` });
      apply({ t: "deposit", ts: 0, accountId: a, currency: "GOLD", amount: "100000000", ref: `g-${a}` });
    }
    const KEEP = 8;
    const BUDGET = 64;
    let madeAhead = 0;
    // Each pair trades: two finished orders, a fill per side and an unsettled trade per pair.
    for (let i = 0; i < 2_000; i++) {
      const buy = i % 2 === 0;
      apply({ t: "place", ts: 0, orderId: `o${i}`, accountId: buy ? "a1" : "a2", identityHash: buy ? "a1" : "a2", symbol: "GOLD-VND", side: buy ? "buy" : "sell", clientOid: `c${i}`, stp: "CO", tif: "GTC", postOnly: false, type: "limit", price: 10_000, size: 1 });
      madeAhead += core.formAhead(KEEP, BUDGET);
    }
    assert.equal(core.tradeCount, 1_000);
    assert.ok(madeAhead >= 2 * 2_000 + 1_000 - 3 * KEEP, `made ahead: ${madeAhead}`);
    // What the capture would still have to make: at most `keep` of each kind.
    const left = core.formAhead(0, Number.POSITIVE_INFINITY);
    assert.ok(left > 0 && left <= 3 * KEEP, `left to the capture: ${left}`);
    const inc = core.snapshot();
    assert.equal(json(inc), json(core.snapshot({ full: true })));

    // A restore brings thousands of records without forms: each record's call makes at most
    // `budget` of each kind, and the backlog is gone after a few dozen records.
    const restored = TradingCore.restore(JSON.parse(json(inc)) as TradingCoreSnapshot, options());
    let records = 0;
    for (;;) {
      const made = restored.formAhead(KEEP, BUDGET);
      assert.ok(made <= 3 * BUDGET, `one call made ${made}`);
      if (made === 0) break;
      records++;
    }
    assert.ok(records >= Math.floor((2_000 - KEEP) / BUDGET) && records < 100, `records to work off the restored state: ${records}`);
    assert.equal(json(restored.snapshot()), json(inc));
  });
});
