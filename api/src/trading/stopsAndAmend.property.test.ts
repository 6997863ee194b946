import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import type { TradingEvent } from "./events.ts";
import type { PlaceRecord, TradingRecord } from "./records.ts";
import { TradingCore, type TradingCoreOptions, type TradingCoreSnapshot } from "./tradingCore.ts";

// A volatility rule tight enough that the random streams halt the market now and then.
const options = (): TradingCoreOptions => ({ catalog: defaultCatalog(), feeAccount: "fees", taxAccount: "tax", volatility: { windowMs: 50, bandBps: 300, haltMs: 20 } });
const T0 = 1_700_000_000_000;
const S = "GOLD-VND";
const ACCOUNTS = ["a", "b", "c"] as const;
const DEPOSIT = { VND: 3_000_000n, GOLD: 200n } as const;
const hexId = (n: number) => n.toString(16).padStart(24, "0");
const account = fc.constantFrom(...ACCOUNTS);
const side = fc.constantFrom("buy" as const, "sell" as const);
const ticks = fc.integer({ min: -4, max: 4 });
const stp = fc.constantFrom("CN" as const, "CO" as const, "CB" as const, "DC" as const);
const tif = fc.constantFrom("GTC" as const, "IOC" as const, "FOK" as const);
const funds = fc.option(fc.integer({ min: 1_000, max: 300_000 }), { nil: undefined });

/** Orders of every kind (TIF, post-only, iceberg, STP, market by funds), stops of both kinds, amends, cancels, kill switches, halts and time passing. */
const step = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant("limit" as const), a: account, side, ticks, q: fc.integer({ min: 1, max: 20 }), stp, tif, post: fc.boolean(), vis: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("market" as const), a: account, side, q: fc.integer({ min: 1, max: 20 }), funds, stp }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("stop" as const), a: account, side, kind: fc.constantFrom("loss" as const, "entry" as const), sp: ticks, ticks: fc.option(ticks, { nil: undefined }), q: fc.integer({ min: 1, max: 20 }), funds, stp, tif, post: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("amend" as const), n: fc.nat(), ticks: fc.option(ticks, { nil: undefined }), q: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("cancel" as const), n: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("cancelAll" as const), a: account, scope: fc.constantFrom("orders" as const, "stops" as const, undefined) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("freeze" as const), a: account, frozen: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("halt" as const), halted: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("wait" as const), ms: fc.integer({ min: 1, max: 40 }) }) },
);
type Step = typeof step extends fc.Arbitrary<infer C> ? C : never;

function recordsOf(steps: Step[]): TradingRecord[] {
  const out: TradingRecord[] = [];
  let ts = T0;
  for (const a of ACCOUNTS) for (const [currency, amount] of Object.entries(DEPOSIT)) out.push({ t: "deposit", ts: ++ts, accountId: a, currency, amount: amount.toString(), ref: `${currency}-${a}` });
  const placed: Array<{ orderId: string; accountId: string }> = [];
  steps.forEach((c, i) => {
    if (c.k === "limit" || c.k === "market" || c.k === "stop") {
      const orderId = hexId(placed.length + 1);
      placed.push({ orderId, accountId: c.a });
      const common = { t: "place" as const, ts: ++ts, orderId, accountId: c.a, identityHash: `id-${c.a}`, symbol: S, side: c.side, clientOid: `c${i}`, stp: c.stp, tif: "GTC" as const, postOnly: false };
      const byFunds = c.side === "buy" && c.k !== "limit" && c.funds !== undefined ? { funds: String(c.funds) } : { size: c.q };
      let r: PlaceRecord;
      if (c.k === "limit") r = { ...common, type: "limit", price: 10_000 + 100 * c.ticks, size: c.q, tif: c.tif, postOnly: c.post && c.tif === "GTC", visibleSize: c.vis };
      else if (c.k === "market") r = { ...common, type: "market", ...byFunds };
      else {
        const stop = { stopPrice: 10_000 + 100 * c.sp, kind: c.kind };
        r = c.ticks === undefined ? { ...common, type: "market", ...byFunds, stop } : { ...common, type: "limit", price: 10_000 + 100 * c.ticks, size: c.q, stop, tif: c.tif, postOnly: c.post && c.tif === "GTC" };
      }
      out.push(r);
    } else if (c.k === "amend" || c.k === "cancel") {
      if (placed.length === 0) return;
      const o = placed[placed.length - 1 - (c.n % Math.min(placed.length, 6))];
      if (c.k === "cancel") out.push({ t: "cancel", ts: ++ts, orderId: o.orderId, accountId: o.accountId });
      else out.push({ t: "amend", ts: ++ts, orderId: o.orderId, accountId: o.accountId, price: c.ticks === undefined ? undefined : 10_000 + 100 * c.ticks, size: c.q });
    } else if (c.k === "cancelAll") out.push({ t: "cancelAll", ts: ++ts, accountId: c.a, reason: "user", scope: c.scope });
    else if (c.k === "freeze") out.push({ t: "accountStatus", ts: ++ts, accountId: c.a, frozen: c.frozen, reason: "kill switch" });
    else if (c.k === "halt") out.push({ t: "marketStatus", ts: ++ts, symbol: S, halted: c.halted, reason: "operator" });
    else ts += c.ms;
  });
  return out;
}

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));

/** After every record: holds are exactly what open orders and waiting stops still hold, and no money is made or lost. */
function assertInvariants(core: TradingCore, after: string): void {
  for (const a of ACCOUNTS) {
    for (const ccy of Object.keys(DEPOSIT)) {
      const open = [...core.openOrderIds(a)].map((id) => core.order(id)!).filter((o) => o.holdCurrency === ccy);
      assert.ok(open.every((o) => o.isActive && o.holdRemaining >= 0n), `${a}: an open order is inactive or holds less than nothing, after ${after}`);
      assert.equal(core.ledger.balance(a, ccy).hold, open.reduce((s, o) => s + o.holdRemaining, 0n), `${a} ${ccy} hold after ${after}`);
    }
  }
  for (const [ccy, each] of Object.entries(DEPOSIT)) {
    let total = 0n;
    for (const a of [...ACCOUNTS, "fees", "tax"]) {
      const b = core.ledger.balance(a, ccy);
      total += b.available + b.hold;
    }
    assert.equal(total, each * BigInt(ACCOUNTS.length), `${ccy} total after ${after}`);
  }
}

describe("stops and amends with kill switches, halts and every order kind", () => {
  it("holds match open orders and waiting stops after every record; snapshot + tail and replay from nothing equal the live core; trade ids only grow", () => {
    const seen = { triggered: 0, amended: 0, frozenWithStops: 0 };
    fc.assert(
      fc.property(fc.array(step, { minLength: 5, maxLength: 120, size: "medium" }), fc.nat(), (steps, cutSeed) => {
        const records = recordsOf(steps);
        const live = new TradingCore(options());
        const events: TradingEvent[] = [];
        live.subscribe((e) => events.push(e));
        const cut = cutSeed % (records.length + 1);
        let snap: TradingCoreSnapshot | undefined;
        let mark = 0;
        records.forEach((r, i) => {
          if (i === cut) [snap, mark] = [JSON.parse(JSON.stringify(live.snapshot())) as TradingCoreSnapshot, events.length];
          if (r.t === "accountStatus" && r.frozen && [...live.openOrderIds(r.accountId)].some((id) => live.order(id)?.stop?.triggered === false)) seen.frozenWithStops++;
          const res = live.apply(r);
          // (The core does not refuse a frozen account's orders: the pre-trade checks do, before journaling.)
          if (r.t === "accountStatus" && r.frozen) assert.equal(live.openOrderIds(r.accountId).size, 0, "a kill switch leaves no order or stop open");
          if (r.t === "amend" && res.ok) seen.amended++;
          if (i >= 2 * ACCOUNTS.length - 1) assertInvariants(live, `record ${i} ${json(r)}`);
        });
        if (snap === undefined) [snap, mark] = [JSON.parse(JSON.stringify(live.snapshot())) as TradingCoreSnapshot, events.length];
        const tradeIds = events.flatMap((e) => (e.kind === "trade" ? [Number.parseInt(e.tradeId, 16)] : []));
        assert.deepEqual(tradeIds, tradeIds.map((_, i) => i + 1), "trade ids are 1, 2, 3… in order");
        seen.triggered += events.filter((e) => e.kind === "order" && e.change === "triggered").length;

        const restored = TradingCore.restore(snap, options());
        const tail: TradingEvent[] = [];
        restored.subscribe((e) => tail.push(e));
        for (const r of records.slice(cut)) restored.apply(r);
        assert.equal(json(restored.snapshot()), json(live.snapshot()));
        assert.equal(json(tail), json(events.slice(mark)));
        const again = new TradingCore(options());
        for (const r of records) again.apply(r);
        assert.equal(json(again.snapshot()), json(live.snapshot()));
      }),
      { numRuns: 400 },
    );
    assert.ok(seen.triggered > 50, `only ${seen.triggered} stops triggered`);
    assert.ok(seen.amended > 50, `only ${seen.amended} amends applied`);
    assert.ok(seen.frozenWithStops > 5, `only ${seen.frozenWithStops} kill switches met waiting stops`);
  });
});
