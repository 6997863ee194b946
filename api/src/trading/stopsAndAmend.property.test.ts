import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { defaultCatalog, MarketCatalog } from "../markets/marketCatalog.ts";
import type { TradingEvent } from "./events.ts";
import { json, commandStream } from "./testing/commandStream.ts";
import { TradingCore, type TradingCoreOptions, type TradingCoreSnapshot } from "./tradingCore.ts";

/**
 * GOLD-VND as the default catalog has it but for two things the default never has: the base
 * counts in hundredths (2 decimals: notional = price x qty / 100, funds scaled for the engine),
 * and the maker pays more than the taker (a limit buy must hold for the higher fee).
 */
const fractionalCatalog = () =>
  new MarketCatalog(
    [
      { currency: "VND", fullName: "VND", decimals: 0 },
      { currency: "GOLD", fullName: "GOLD in hundredths", decimals: 2 },
    ],
    [{ symbol: "GOLD-VND", name: "GOLD-VND", base: "GOLD", quote: "VND", tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000, bandBps: 500, makerFeeBps: 30, takerFeeBps: 10, assetClass: "crypto-asset" }],
  );
// A volatility rule tight enough that the random streams halt the market now and then.
let catalogOf = defaultCatalog;
const options = (): TradingCoreOptions => ({ catalog: catalogOf(), feeAccount: "fees", taxAccount: "tax", volatility: { windowMs: 50, bandBps: 300, haltMs: 20 } });
const ACCOUNTS = ["a", "b", "c"] as const;
const DEPOSIT = { VND: 3_000_000n, GOLD: 200n } as const;

/** Orders of every kind (TIF, post-only, iceberg, STP, market by funds), stops of both kinds, amends, cancels, kill switches, halts and time passing. */
const { step, recordsOf } = commandStream({
  accounts: ACCOUNTS,
  deposit: DEPOSIT,
  ticks: 4,
  weights: { limit: 6, market: 2, stop: 4, amend: 3, cancel: 2, cancelAll: 1, freeze: 1, halt: 1, wait: 1 },
  maxSize: { limit: 20, market: 20, stop: 20, amend: 30 },
  everyOption: true,
  partialAmends: true,
  recent: 6,
});

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
  for (const [label, catalog, numRuns] of [
    ["the default catalog", defaultCatalog, 400],
    ["a base in hundredths whose maker fee is above the taker fee", fractionalCatalog, 150],
  ] as const)
  it(`${label}: holds match open orders and waiting stops after every record; snapshot + tail and replay from nothing equal the live core; trade ids only grow`, (t) => {
    catalogOf = catalog;
    const seen = { triggered: 0, amended: 0, frozenWithStops: 0, makerBuyFills: 0, fundsFills: 0 };
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
        for (const e of events) {
          if (e.kind !== "trade") continue;
          // side: the taker's
          const buy = live.order(e.side === "buy" ? e.takerOrderId : e.makerOrderId);
          if (e.side === "sell") seen.makerBuyFills++;
          if (buy && buy.funds > 0n) seen.fundsFills++;
        }
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
      { numRuns },
    );
    t.diagnostic(json(seen));
    assert.ok(seen.triggered > 50, `only ${seen.triggered} stops triggered`);
    assert.ok(seen.amended > 50, `only ${seen.amended} amends applied`);
    assert.ok(seen.frozenWithStops > 5, `only ${seen.frozenWithStops} kill switches met waiting stops`);
    assert.ok(seen.makerBuyFills > 100, `only ${seen.makerBuyFills} resting buys filled as makers`);
    assert.ok(seen.fundsFills > 20, `only ${seen.fundsFills} fills of market buys by funds`);
  });
});
