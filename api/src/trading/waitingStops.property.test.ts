import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { EngineCode } from "../../../matching-engine/src/index.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import type { TradingEvent } from "./events.ts";
import { stopReached } from "../records/orders.ts";
import type { PlaceRecord } from "../records/tradingRecords.ts";
import { SYMBOL as S, T0, commandStream, hexId, json } from "./testing/commandStream.ts";
import { TradingCore, type TradingCoreOptions, type TradingCoreSnapshot } from "./tradingCore.ts";
import { IndexedWaitingStops, type WaitingStops } from "./waitingStops.ts";

/**
 * The trigger rule as the core first had it, kept as the reference: scan the waiting stops in
 * acceptance order and take the first whose condition the last price meets.
 */
class LinearWaitingStops implements WaitingStops {
  readonly #stops = new Map<string, { stopPrice: number; kind: "loss" | "entry" }>();
  get size(): number {
    return this.#stops.size;
  }
  add(orderId: string, stop: { stopPrice: number; kind: "loss" | "entry" }): void {
    this.#stops.set(orderId, { stopPrice: stop.stopPrice, kind: stop.kind });
  }
  delete(orderId: string): void {
    this.#stops.delete(orderId);
  }
  next(lastPrice: number): string | undefined {
    for (const [id, stop] of this.#stops) if (stopReached(stop, lastPrice)) return id;
    return undefined;
  }
}

const options = (reference: boolean, volatility = true): TradingCoreOptions => ({
  catalog: defaultCatalog(),
  feeAccount: "fees",
  taxAccount: "tax",
  volatility: volatility ? { windowMs: 50, bandBps: 400, haltMs: 20 } : undefined,
  waitingStops: reference ? () => new LinearWaitingStops() : undefined,
});

describe("the waiting-stop index", () => {
  it("answers exactly as the acceptance-order scan, for any adds, deletes and prices", () => {
    const op = fc.oneof(
      { weight: 5, arbitrary: fc.record({ k: fc.constant("add" as const), id: fc.nat(300), stopPrice: fc.integer({ min: 1, max: 40 }), kind: fc.constantFrom("loss" as const, "entry" as const) }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant("delete" as const), id: fc.nat(300) }) },
      { weight: 3, arbitrary: fc.record({ k: fc.constant("next" as const), last: fc.integer({ min: 0, max: 41 }), take: fc.boolean() }) },
    );
    let largest = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 1_000, size: "max" }), (ops) => {
        const fast = new IndexedWaitingStops();
        const ref = new LinearWaitingStops();
        for (const o of ops) {
          if (o.k === "add") {
            fast.add(String(o.id), o);
            ref.add(String(o.id), o);
          } else if (o.k === "delete") {
            fast.delete(String(o.id));
            ref.delete(String(o.id));
          } else {
            const want = ref.next(o.last);
            assert.equal(fast.next(o.last), want);
            if (o.take && want !== undefined) {
              fast.delete(want);
              ref.delete(want);
            }
          }
          assert.equal(fast.size, ref.size);
          largest = Math.max(largest, ref.size);
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(largest > 100, `at most ${largest} stops waited at once`);
  });
});

/** Resting liquidity on a grid, many stops of both kinds (market ones cascade through the book), cancels, amends, kill switches, halts. */
const { step, recordsOf } = commandStream({
  accounts: ["a", "b", "c", "d"],
  deposit: { VND: 50_000_000n, GOLD: 2_000n },
  ticks: 6,
  weights: { limit: 5, market: 2, stop: 8, cancel: 2, amend: 1, cancelAll: 1, freeze: 1, halt: 1, wait: 1 },
  maxSize: { limit: 6, market: 8, stop: 4, amend: 6 },
  everyOption: false,
  partialAmends: false,
  recent: 10,
});

describe("stop triggers through the index equal the acceptance-order scan", () => {
  it("same results, events (byte for byte) and snapshots after every record; a restored core rebuilds the index", (t) => {
    const seen = { stops: 0, triggered: 0, cascades: 0, chained: 0, refusedStopAmends: 0, longest: 0 };
    fc.assert(
      fc.property(fc.array(step, { minLength: 30, maxLength: 250, size: "max" }), fc.nat(), (steps, cutSeed) => {
        const records = recordsOf(steps);
        seen.longest = Math.max(seen.longest, steps.length);
        const fast = new TradingCore(options(false));
        const ref = new TradingCore(options(true));
        const fastEvents: TradingEvent[] = [];
        const refEvents: TradingEvent[] = [];
        fast.subscribe((e) => fastEvents.push(e));
        ref.subscribe((e) => refEvents.push(e));
        const cut = cutSeed % (records.length + 1);
        let snap: string | undefined;
        records.forEach((r, i) => {
          if (i === cut) snap = JSON.stringify(fast.snapshot());
          const from = fastEvents.length;
          const got = fast.apply(r);
          const want = ref.apply(r);
          assert.equal(json(got), json(want), `result of record ${i} ${json(r)}`);
          assert.equal(json(fastEvents.slice(from)), json(refEvents.slice(from)), `events of record ${i} ${json(r)}`);
          if (r.t === "place" && r.stop) seen.stops++;
          if (r.t === "amend" && !got.ok && got.code === EngineCode.NOT_AMENDABLE && got.order?.stop?.triggered === false) seen.refusedStopAmends++;
          // A cascade: one record triggers more than one stop; chained: a stop triggered by a trade a triggered stop made.
          const triggeredNow = new Set<string>();
          let chainedHere = false;
          for (const e of fastEvents.slice(from)) {
            if (e.kind === "trade" && (triggeredNow.has(e.takerOrderId) || triggeredNow.has(e.makerOrderId))) chainedHere = true;
            if (e.kind === "order" && e.change === "triggered") {
              if (chainedHere) seen.chained++;
              triggeredNow.add(e.order.orderId);
            }
          }
          seen.triggered += triggeredNow.size;
          if (triggeredNow.size > 1) seen.cascades++;
        });
        assert.equal(json(fast.snapshot()), json(ref.snapshot()));
        snap ??= JSON.stringify(fast.snapshot());
        // Each restore gets its own copy: restore adopts parts of the snapshot it is given.
        const restored = TradingCore.restore(JSON.parse(snap) as TradingCoreSnapshot, options(false));
        const tail: TradingEvent[] = [];
        restored.subscribe((e) => tail.push(e));
        const replayRef = TradingCore.restore(JSON.parse(snap) as TradingCoreSnapshot, options(true));
        const refTail: TradingEvent[] = [];
        replayRef.subscribe((e) => refTail.push(e));
        for (const r of records.slice(cut)) {
          restored.apply(r);
          replayRef.apply(r);
        }
        assert.equal(json(tail), json(refTail));
        assert.equal(json(restored.snapshot()), json(ref.snapshot()));
      }),
      { numRuns: 150 },
    );
    t.diagnostic(json(seen));
    assert.ok(seen.longest > 10, `arrays of at most ${seen.longest} steps`);
    assert.ok(seen.stops > 2_000, `only ${seen.stops} stops placed`);
    assert.ok(seen.triggered > 500, `only ${seen.triggered} stops triggered`);
    assert.ok(seen.cascades > 50, `only ${seen.cascades} records triggered more than one stop`);
    assert.ok(seen.chained > 20, `only ${seen.chained} stops were triggered by a triggered stop's trade`);
    assert.ok(seen.refusedStopAmends > 5, `only ${seen.refusedStopAmends} amends of a waiting stop`);
  });

  it("measures one trade against 5,000 waiting stops, the index against the scan", (t) => {
    // Loss sells accepted lowest stop price first: a fall reaches the latest accepted ones, the
    // scan's worst case (it walks every stop the price does not meet, again after each trigger).
    const run = (reference: boolean) => {
      const core = new TradingCore(options(reference, false));
      let ts = T0;
      let n = 0;
      const place = (accountId: string, o: Partial<PlaceRecord> & Pick<PlaceRecord, "side">) =>
        core.apply({ t: "place", ts: ++ts, orderId: hexId(++n), accountId, identityHash: `id-${accountId}`, symbol: S, type: "limit", tif: "GTC", postOnly: false, stp: "CN", clientOid: `c${n}`, size: 1, ...o });
      core.apply({ t: "deposit", ts: ++ts, accountId: "s", currency: "GOLD", amount: "10000", ref: "g-s" });
      for (const a of ["b", "x"]) core.apply({ t: "deposit", ts: ++ts, accountId: a, currency: "VND", amount: "100000000", ref: `v-${a}` });
      core.apply({ t: "deposit", ts: ++ts, accountId: "x", currency: "GOLD", amount: "10", ref: "g-x" });
      place("x", { side: "sell", price: 10_000 });
      place("b", { side: "buy", price: 10_000 });
      for (let i = 0; i < 5_000; i++) place("s", { side: "sell", price: 20_000, stop: { stopPrice: 5_000 + i, kind: "loss" } });
      let triggered = 0;
      core.subscribe((e) => {
        if (e.kind === "order" && e.change === "triggered") triggered++;
      });
      const time = (f: () => void) => {
        const t0 = process.hrtime.bigint();
        f();
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
      // A trade that meets no stop, then one at 9,000 that meets the 1,000 stops accepted last.
      const none = time(() => {
        place("x", { side: "sell", price: 10_100 });
        place("b", { side: "buy", price: 10_100 });
      });
      const triggeredNone = triggered;
      const cascade = time(() => {
        place("x", { side: "sell", price: 9_000 });
        place("b", { side: "buy", price: 9_000 });
      });
      return { none, cascade, triggeredNone, triggered, snapshot: json(core.snapshot()) };
    };
    run(false); // warm up
    const scan = run(true);
    const index = run(false);
    assert.equal(index.snapshot, scan.snapshot);
    assert.equal(index.triggeredNone, 0);
    assert.equal(index.triggered, 1_000);
    t.diagnostic(`5,000 waiting stops, a trade meeting none: scan ${scan.none.toFixed(2)} ms, index ${index.none.toFixed(2)} ms`);
    t.diagnostic(`5,000 waiting stops, a trade meeting 1,000: scan ${scan.cascade.toFixed(1)} ms, index ${index.cascade.toFixed(1)} ms`);
  });
});
