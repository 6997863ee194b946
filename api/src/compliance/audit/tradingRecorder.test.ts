import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KucoinFormat } from "../../http/kucoinFormat.ts";
import { defaultCatalog } from "../../markets/marketCatalog.ts";
import type { TradingEvent } from "../../trading/events.ts";
import { IDENTITY_SWEEP, type PlaceRecord, type TradingRecord } from "../../records/tradingRecords.ts";
import { TradingCore } from "../../trading/tradingCore.ts";
import type { AuditEventInput } from "./auditEvent.ts";
import { createTradingRecorder } from "./tradingRecorder.ts";

const T0 = 1_700_000_000_000;
const S = "GOLD-VND";
const hexId = (n: number) => n.toString(16).padStart(24, "0");

/** A core whose applied records go through the recorder, as the sequencer passes them; the audit events collected in order. */
function recordedMarket() {
  const catalog = defaultCatalog();
  const core = new TradingCore({ catalog, feeAccount: "fees", taxAccount: "tax" });
  const audit: AuditEventInput[] = [];
  const recorder = createTradingRecorder({ catalog, format: new KucoinFormat(catalog), append: (e) => audit.push(e), flush: async () => undefined, refPrice: () => 0, audited: { seq: 0n, eventsOfSeq: 0 } });
  let seq = 0n;
  let ts = T0;
  const apply = (r: TradingRecord) => {
    const events: TradingEvent[] = [];
    const stop = core.subscribe((e) => events.push(e));
    const result = core.apply(r);
    stop();
    recorder.recordApplied(++seq, r, events, result, false);
    return result;
  };
  for (const a of ["a", "b"]) {
    apply({ t: "deposit", ts: ++ts, accountId: a, currency: "VND", amount: "10000000", ref: `v-${a}` });
    apply({ t: "deposit", ts: ++ts, accountId: a, currency: "GOLD", amount: "100", ref: `g-${a}` });
  }
  let n = 0;
  const place = (accountId: string, o: Partial<PlaceRecord> & Pick<PlaceRecord, "side">) => {
    const orderId = hexId(++n);
    apply({ t: "place", ts: ++ts, orderId, accountId, identityHash: `id-${accountId}`, symbol: S, type: "limit", tif: "GTC", postOnly: false, stp: "CN", clientOid: `c${n}`, ...o });
    return orderId;
  };
  const amend = (accountId: string, orderId: string, change: { price?: number; size?: number }) => apply({ t: "amend", ts: ++ts, orderId, accountId, ...change });
  const of = (orderId: string) => audit.filter((e) => e.orderId === orderId).map((e) => e.type);
  return { place, amend, of, apply, audit, ts: () => ++ts };
}

describe("trading recorder: stop orders in the audit trail", () => {
  it("a stop the last price already meets is accepted once, then triggered (not accepted again as it enters the book)", () => {
    const m = recordedMarket();
    m.place("b", { side: "sell", price: 10_000, size: 1 });
    m.place("a", { side: "buy", price: 10_000, size: 1 }); // last price 10,000
    const stop = m.place("a", { side: "buy", price: 9_000, size: 1, stop: { stopPrice: 11_000, kind: "loss" } });
    assert.deepEqual(m.of(stop), ["order.accepted", "order.triggered"]);
  });

  it("a stop that waits is accepted when placed and triggered by a later trade, once each", () => {
    const m = recordedMarket();
    const stop = m.place("a", { side: "buy", price: 9_000, size: 1, stop: { stopPrice: 9_500, kind: "loss" } });
    m.place("b", { side: "sell", price: 9_500, size: 1 });
    m.place("a", { side: "buy", price: 9_500, size: 1 });
    assert.deepEqual(m.of(stop), ["order.accepted", "order.triggered"]);
  });
});

describe("trading recorder: amendments in the order's lifecycle", () => {
  it("an amendment that crosses is recorded before the fills it makes, and before an STP cancel it causes", () => {
    const m = recordedMarket();
    const ask = m.place("b", { side: "sell", price: 12_000, size: 2 });
    const bid = m.place("a", { side: "buy", price: 9_000, size: 1 });
    m.amend("a", bid, { price: 12_000 });
    assert.deepEqual(m.of(bid), ["order.accepted", "order.amended", "order.filled"]);
    assert.deepEqual(m.of(ask), ["order.accepted", "order.filled"]);
    // Amended onto the account's own bid: self-trade prevention cancels it, after the amendment.
    m.place("a", { side: "buy", price: 9_000, size: 1 });
    const own = m.place("a", { side: "sell", price: 12_000, size: 1 });
    m.amend("a", own, { price: 9_000 });
    assert.deepEqual(m.of(own), ["order.accepted", "order.amended", "order.stp"]);
  });
});

describe("trading recorder: why a frozen account's orders were cancelled", () => {
  it("the identity sweep's freeze cancels for identity (actor identity-sweep); an operator's kill switch for killSwitch", () => {
    const m = recordedMarket();
    const cancels = (ids: string[]) => m.audit.filter((e) => e.type === "order.cancelled" && ids.includes(e.orderId!)).map((e) => [e.orderId, e.reason, e.actor]);
    const revoked = [m.place("a", { side: "buy", price: 9_000, size: 1 }), m.place("a", { side: "sell", price: 9_000, size: 1, stop: { stopPrice: 8_000, kind: "loss" } })];
    const killed = [m.place("b", { side: "sell", price: 12_000, size: 1 }), m.place("b", { side: "buy", price: 12_000, size: 1, stop: { stopPrice: 13_000, kind: "entry" } })];
    m.apply({ t: "accountStatus", ts: m.ts(), accountId: "a", frozen: true, reason: "e-ID revoked", by: IDENTITY_SWEEP });
    m.apply({ t: "accountStatus", ts: m.ts(), accountId: "b", frozen: true, reason: "suspicious activity", by: "0xoperator" });
    assert.deepEqual(cancels(revoked), revoked.map((id) => [id, "identity", IDENTITY_SWEEP]), "the open order and the waiting stop");
    assert.deepEqual(cancels(killed), killed.map((id) => [id, "killSwitch", "0xoperator"]));
  });
});

describe("trading recorder: event times are the record's, to the microsecond", () => {
  it("every event of a record carries its ts + us; a record without us (older journals) gives …000Z", () => {
    const m = recordedMarket();
    const ask = m.place("b", { side: "sell", price: 10_000, size: 1 });
    m.place("a", { side: "buy", price: 10_000, size: 1, us: 7 });
    const fromIt = m.audit.filter((e) => e.jseq === m.audit.at(-1)!.jseq);
    assert.deepEqual(fromIt.map((e) => e.type), ["order.accepted", "order.filled", "order.filled"]);
    assert.match(fromIt[0].ts!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}007Z$/);
    assert.deepEqual(fromIt.map((e) => e.ts), [fromIt[0].ts, fromIt[0].ts, fromIt[0].ts]);
    assert.equal(m.audit.find((e) => e.orderId === ask && e.type === "order.accepted")!.ts!.slice(-4), "000Z");
  });
});
