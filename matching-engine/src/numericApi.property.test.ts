import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { EngineCode } from "./codes.ts";
import type { Command } from "./command.ts";
import { MatchingEngine, NO_HANDLE, REJECTED, Tif } from "./engine.ts";
import type { EngineEvent } from "./events.ts";
import { collectEvents } from "./events.ts";
import { EventBuffer, EventKind } from "./eventBuffer.ts";

/**
 * The numeric entry points (placeLimit / placeMarket / cancelHandle) must
 * behave exactly like `apply` with string ids (which the reference-model
 * properties check): same codes, same events (rejections of a cancel carry
 * no id on the numeric path), same book; stale handles must be refused.
 */
type Op =
  | { k: "limit"; owner: number; side: number; price: number; qty: number; tif: number }
  | { k: "market"; owner: number; side: number; qty: number }
  | { k: "cancel"; target: number };

const SYMBOLS = [
  { symbol: "S", tickSize: 1, lotSize: 1 },
  { symbol: "S", tickSize: 5, lotSize: 10, minQty: 20, maxQty: 300, bandTicks: 15, stpDefault: "decrement" as const },
];
const OWNERS = ["a", "b", "c"];
const TIFS = ["GTC", "IOC", "FOK"] as const;

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant("limit" as const),
      owner: fc.nat(2),
      side: fc.nat(1),
      price: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 95, max: 105 }).map((p) => p * 5) }, fc.integer({ min: 470, max: 530 })),
      qty: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 2, max: 12 }).map((q) => q * 10) }, fc.integer({ min: 1, max: 300 })),
      tif: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.constantFrom(1, 2)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("market" as const), owner: fc.nat(2), side: fc.nat(1), qty: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("cancel" as const), target: fc.nat(200) }) },
);

/** Counts across all runs of a property of what its runs exercised (event types, reasons, situations). */
type Seen = Map<string, number>;
function count(seen: Seen, key: string, n = 1): void {
  seen.set(key, (seen.get(key) ?? 0) + n);
}
function tally(seen: Seen, events: readonly EngineEvent[]): void {
  for (const e of events) count(seen, e.type === "cancelled" || e.type === "rejected" ? e.reason : e.type);
}
/** Fails naming what a property never exercised. */
function assertSeen(seen: Seen, keys: readonly string[]): void {
  for (const k of keys) assert.ok((seen.get(k) ?? 0) > 0, `never exercised: ${k} (saw ${JSON.stringify(Object.fromEntries(seen))})`);
}

/** What each config's runs must exercise; the second adds its tick, lot, minimum and band limits. */
const MUST_SEE: readonly string[][] = [
  ["trade", "levelEmptied", "restingCancelled", "staleHandle", EngineCode.IOC_REMAINDER, EngineCode.FOK_NOT_FILLED, EngineCode.MARKET_NO_LIQUIDITY, EngineCode.STP_CANCEL_NEWEST, "long"],
  ["trade", "levelEmptied", "restingCancelled", "staleHandle", EngineCode.IOC_REMAINDER, EngineCode.FOK_NOT_FILLED, EngineCode.STP_DECREMENT, EngineCode.PRICE_NOT_ON_TICK, EngineCode.QTY_NOT_ON_LOT, EngineCode.QTY_BELOW_MIN, EngineCode.MARKET_PRICE_BAND, "long"],
];
const MAX_OPS = 150;
const opLists = fc.array(op, { minLength: 1, maxLength: MAX_OPS, size: "max" });

for (const [ci, cfg] of SYMBOLS.entries()) {
  test(`numeric entry points = string-id apply (config ${ci})`, () => {
    const seen: Seen = new Map();
    fc.assert(
      fc.property(opLists, (ops) => {
        if (ops.length >= MAX_OPS * 0.9) count(seen, "long");
        const str = new MatchingEngine({ symbols: [cfg] });
        const num = new MatchingEngine({ symbols: [cfg] });
        const book = num.bookIndex("S");
        const owners = OWNERS.map((o) => num.ownerIndex(o));
        const evA: EngineEvent[] = [];
        const evB: EngineEvent[] = [];
        const sinkA = collectEvents(evA);
        const sinkB = collectEvents(evB);
        const placed: { id: string; handle: number }[] = [];
        let before = str.l2("S");
        ops.forEach((o, n) => {
          const fromA = evA.length;
          const fromB = evB.length;
          let codeA: string;
          let codeB: string;
          if (o.k === "limit") {
            const id = `o${n}`;
            const cmd: Command = { type: "limit", id, owner: OWNERS[o.owner], side: o.side === 0 ? "buy" : "sell", price: o.price, qty: o.qty, tif: TIFS[o.tif] };
            codeA = str.apply(cmd, sinkA);
            const h = num.placeLimit(book, owners[o.owner], o.side, o.price, o.qty, o.tif, id, sinkB);
            codeB = h === REJECTED ? num.lastReject : EngineCode.OK;
            assert.equal(h >= 0, str.order(id) !== null, "handle iff resting");
            if (h >= 0) assert.equal(str.handleOf(id) >= 0, true);
            placed.push({ id, handle: h });
          } else if (o.k === "market") {
            const id = `m${n}`;
            codeA = str.apply({ type: "market", id, owner: OWNERS[o.owner], side: o.side === 0 ? "buy" : "sell", qty: o.qty }, sinkA);
            const h = num.placeMarket(book, owners[o.owner], o.side, o.qty, id, sinkB);
            assert.ok(h === NO_HANDLE || h === REJECTED);
            codeB = h === REJECTED ? num.lastReject : EngineCode.OK;
          } else {
            if (placed.length === 0) return;
            const t = placed[o.target % placed.length];
            codeA = str.apply({ type: "cancel", id: t.id }, sinkA);
            codeB = num.cancelHandle(t.handle, sinkB);
            if (codeA === EngineCode.OK) count(seen, "restingCancelled");
            else if (t.handle >= 0) count(seen, "staleHandle"); // rested once, since filled or cancelled
          }
          assert.equal(codeB, codeA);
          // only this op's events: the earlier ones were compared after their own op
          const norm = (e: EngineEvent) => (e.type === "rejected" && e.reason === EngineCode.UNKNOWN_ORDER ? { ...e, id: "" } : e);
          assert.deepEqual(evB.slice(fromB).map(norm), evA.slice(fromA).map(norm));
          tally(seen, evA.slice(fromA));
          const after = str.l2("S");
          assert.deepEqual(num.l2("S"), after);
          assert.equal(num.liveOrders(), str.liveOrders());
          assert.ok(before && after);
          const prices = (l: typeof after) => [...l.bids, ...l.asks].map(([p]) => p);
          const left = new Set(prices(after));
          if (prices(before).some((p) => !left.has(p))) count(seen, "levelEmptied");
          before = after;
        });
      }),
      { numRuns: 300 },
    );
    assertSeen(seen, MUST_SEE[ci]);
  });
}

test("numeric entry points reject bad input with a code and never throw", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S", tickSize: 5 }] });
  const a = e.ownerIndex("a");
  assert.equal(e.ownerIndex(""), -1);
  assert.equal(e.bookIndex("nope"), -1);
  const r = (h: number): [number, EngineCode] => [h, e.lastReject];
  const cases: [[number, EngineCode], EngineCode][] = [
    [r(e.placeLimit(7, a, 0, 100, 1)), EngineCode.UNKNOWN_SYMBOL],
    [r(e.placeLimit(0, 99, 0, 100, 1)), EngineCode.INVALID_OWNER],
    [r(e.placeLimit(0, a, 2, 100, 1)), EngineCode.INVALID_SIDE],
    [r(e.placeLimit(0, a, 0, 101, 1)), EngineCode.PRICE_NOT_ON_TICK],
    [r(e.placeLimit(0, a, 0, 0, 1)), EngineCode.INVALID_PRICE],
    [r(e.placeLimit(0, a, 0, 100, 2 ** 53)), EngineCode.INVALID_QTY],
    [r(e.placeLimit(0, a, 0, 100, 1, 3)), EngineCode.INVALID_TIF],
    [r(e.placeMarket(0, a, 0, 0.5)), EngineCode.INVALID_QTY],
  ];
  for (const [[h, got], code] of cases) {
    assert.equal(h, REJECTED);
    assert.equal(got, code);
  }
  const h = e.placeLimit(0, a, 0, 100, 1, Tif.GTC, "x");
  assert.ok(h >= 0);
  assert.equal(e.cancelHandle(h), EngineCode.OK);
  assert.equal(e.cancelHandle(h), EngineCode.UNKNOWN_ORDER, "stale handle");
  const h2 = e.placeLimit(0, a, 0, 100, 1);
  assert.notEqual(h2, h, "reused slot gets a new generation");
  assert.equal(e.cancelHandle(h), EngineCode.UNKNOWN_ORDER, "stale handle of a reused slot");
  for (const bad of [-1, 1.5, 2 ** 31, NaN, 12345]) assert.equal(e.cancelHandle(bad), EngineCode.UNKNOWN_ORDER);
  assert.equal(e.liveOrders(), 1);
});

/** Rebuilds the EngineEvents of one core call from an EventBuffer (the test knows handle -> id/owner). */
function fromBuffer(b: EventBuffer, names: Map<number, { id: string; owner: string }>, cur: { id: string; owner: string }): EngineEvent[] {
  const side = (i: number) => (b.side[i] === 0 ? "buy" : "sell") as "buy" | "sell";
  let curHandle = -1;
  const who = (h: number) => (h === curHandle ? cur : (names.get(h) ?? { id: "?", owner: "?" }));
  const out: EngineEvent[] = [];
  for (let i = 0; i < b.count; i++) {
    const symbol = b.book[i] < 0 ? "" : "S";
    const seq = b.seq[i];
    switch (b.kind[i]) {
      case EventKind.accepted:
        curHandle = b.order[i];
        out.push({ type: "accepted", symbol, id: cur.id, owner: cur.owner, side: side(i), orderType: (["limit", "market", "stop"] as const)[b.flag[i]], price: b.price[i], qty: b.qty[i], seq });
        break;
      case EventKind.rejected:
        out.push({ type: "rejected", symbol, id: b.book[i] < 0 ? "" : cur.id, reason: b.reason[i], seq });
        break;
      case EventKind.trade: {
        const m = who(b.order[i]);
        const t = who(b.taker[i]);
        out.push({ type: "trade", symbol, maker: m.id, taker: t.id, price: b.price[i], qty: b.qty[i], side: side(i), makerOwner: m.owner, takerOwner: t.owner, makerLeft: b.left[i], takerLeft: b.takerLeft[i], seq });
        break;
      }
      case EventKind.cancelled:
        out.push({ type: "cancelled", symbol, id: who(b.order[i]).id, qty: b.qty[i], left: b.left[i], reason: b.reason[i], seq });
        break;
      case EventKind.l2:
        out.push({ type: "l2", symbol, side: side(i), price: b.price[i], qty: b.qty[i], seq });
        break;
      default:
        throw new Error(`unexpected kind ${b.kind[i]}`);
    }
  }
  return out;
}

for (const [ci, cfg] of SYMBOLS.entries()) {
  test(`EventBuffer output = sink output of the numeric entry points (config ${ci}, l2 on)`, () => {
    const seen: Seen = new Map();
    fc.assert(
      fc.property(opLists, (ops) => {
        if (ops.length >= MAX_OPS * 0.9) count(seen, "long");
        const a = new MatchingEngine({ symbols: [cfg], l2: true });
        const b = new MatchingEngine({ symbols: [cfg], l2: true });
        const owners = OWNERS.map((o) => [a.ownerIndex(o), b.ownerIndex(o)]);
        const buf = new EventBuffer(4); // small: growth is exercised
        const names = new Map<number, { id: string; owner: string }>();
        const placed: [number, number][] = [];
        ops.forEach((o, n) => {
          const evA: EngineEvent[] = [];
          const sink = collectEvents(evA);
          let cur = { id: "", owner: "" };
          if (o.k === "limit") {
            cur = { id: `o${n}`, owner: OWNERS[o.owner] };
            const ha = a.placeLimit(0, owners[o.owner][0], o.side, o.price, o.qty, o.tif, cur.id, sink);
            const hb = b.placeLimit(0, owners[o.owner][1], o.side, o.price, o.qty, o.tif, cur.id, buf);
            assert.equal(hb, ha);
            if (hb >= 0) {
              names.set(hb, cur);
              placed.push([ha, hb]);
            }
          } else if (o.k === "market") {
            cur = { id: `m${n}`, owner: OWNERS[o.owner] };
            assert.equal(b.placeMarket(0, owners[o.owner][1], o.side, o.qty, cur.id, buf), a.placeMarket(0, owners[o.owner][0], o.side, o.qty, cur.id, sink));
          } else {
            if (placed.length === 0) return;
            const [ha, hb] = placed[o.target % placed.length];
            assert.equal(b.cancelHandle(hb, buf), a.cancelHandle(ha, sink));
          }
          assert.deepEqual(fromBuffer(buf, names, cur), evA);
          tally(seen, evA);
        });
        assert.equal(b.stateHash(), a.stateHash());
        if (buf.cap > 4) count(seen, "bufferGrew");
      }),
      { numRuns: 200 },
    );
    assertSeen(seen, ["trade", "l2", EngineCode.USER_CANCELLED, EngineCode.UNKNOWN_ORDER, EngineCode.IOC_REMAINDER, "bufferGrew", "long"]);
  });
}

test("EventBuffer: cleared per call, null output skips events, apply does not write to it", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  const a = e.ownerIndex("a");
  const c = e.ownerIndex("c");
  const buf = new EventBuffer();
  const h = e.placeLimit(0, a, 1, 100, 5, Tif.GTC, "x", buf);
  assert.equal(buf.count, 1);
  assert.equal(buf.kind[0], EventKind.accepted);
  assert.equal(buf.order[0], h);
  assert.equal(e.placeLimit(0, c, 0, 100, 3, Tif.GTC, "", null), NO_HANDLE);
  assert.equal(e.seq("S"), 3, "events skipped, seq still counts them");
  assert.equal(e.placeMarket(0, c, 0, 1, "", buf), NO_HANDLE);
  assert.deepEqual([buf.count, buf.kind[1], buf.order[1], buf.qty[1], buf.left[1], buf.takerLeft[1]], [2, EventKind.trade, h, 1, 1, 0]);
  e.apply({ type: "cancel", id: "nope" }, null);
  assert.equal(buf.count, 2, "apply leaves the buffer alone");
  assert.equal(e.cancelHandle(12345, buf), EngineCode.UNKNOWN_ORDER);
  assert.deepEqual([buf.count, buf.kind[0], buf.book[0], buf.reason[0]], [1, EventKind.rejected, -1, EngineCode.UNKNOWN_ORDER]);
});

test("cancelAll cancels the owner's orders placed through apply, not those of the numeric entry points", () => {
  const e = new MatchingEngine({ symbols: [{ symbol: "S" }] });
  const a = e.ownerIndex("a");
  const h = e.placeLimit(0, a, 0, 100, 5);
  assert.equal(e.apply({ type: "limit", id: "x", owner: "a", side: "buy", price: 99, qty: 5 }), EngineCode.OK);
  const ev: EngineEvent[] = [];
  assert.equal(e.apply({ type: "cancelAll", owner: "a" }, collectEvents(ev)), EngineCode.OK);
  assert.deepEqual(
    ev.map((x) => [x.type, "id" in x ? x.id : ""]),
    [["cancelled", "x"]],
  );
  assert.equal(e.liveOrders(), 1);
  assert.equal(e.cancelHandle(h), EngineCode.OK);
});
