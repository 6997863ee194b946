import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { WINDOW } from "./book.ts";
import { EngineCode } from "./codes.ts";
import type { Command } from "./command.ts";
import { MatchingEngine } from "./engine.ts";
import type { EngineEvent } from "./events.ts";
import { collectEvents } from "./events.ts";
import type { EngineSnapshot } from "./snapshot.ts";
import { ReferenceBook } from "./testing/referenceModel.ts";
import type { RefConfig } from "./testing/referenceModel.ts";

const CONFIGS: RefConfig[] = [
  { symbol: "S", tickSize: 1, lotSize: 1, minQty: 1, maxQty: 1_000_000, bandTicks: null, stpDefault: "cancelNewest" },
  { symbol: "S", tickSize: 5, lotSize: 10, minQty: 20, maxQty: 300, bandTicks: 15, stpDefault: "decrement" },
  // prices span 5,000 units: wider than a book side's dense window (levels also go to its Map, the window re-centres)
  { symbol: "S", tickSize: 500, lotSize: 1, minQty: 1, maxQty: 1_000_000, bandTicks: null, stpDefault: "cancelOldest" },
];

const MAX_COMMANDS = 120;

/** Random command sequences over a tiny price range so orders collide a lot. */
export function commands(cfg: RefConfig, opts: { amend: boolean }): fc.Arbitrary<Command[]> {
  const t = cfg.tickSize;
  const l = cfg.lotSize;
  const id = fc.nat(29).map((i) => `o${i}`);
  const liveId = fc.nat(11).map((i) => `o${i}`);
  const owner = fc.constantFrom("a", "b", "c", "d");
  const ben = fc.option(fc.constantFrom("X", "Y"), { nil: undefined, freq: 3 });
  const side = fc.constantFrom("buy" as const, "sell" as const);
  // mostly on tick, sometimes off tick
  const price = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 95, max: 105 }).map((p) => p * t) }, fc.integer({ min: 95 * t, max: 105 * t }));
  const qty = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 12 }).map((q) => q * l) }, fc.integer({ min: 1, max: 30 * l }));
  const stp = fc.option(fc.constantFrom("cancelNewest" as const, "cancelOldest" as const, "cancelBoth" as const, "decrement" as const), {
    nil: undefined,
  });
  const limit = fc.record({
    type: fc.constant("limit" as const),
    id,
    owner,
    beneficialOwner: ben,
    side,
    price,
    qty,
    tif: fc.option(fc.constantFrom("GTC" as const, "IOC" as const, "FOK" as const), { nil: undefined }),
    stp,
  });
  const postOnly = fc.record({ type: fc.constant("limit" as const), id, owner, side, price, qty, postOnly: fc.constant(true), stp });
  const iceberg = fc.record({
    type: fc.constant("limit" as const),
    id,
    owner,
    beneficialOwner: ben,
    side,
    price,
    qty: qty.map((q) => q + 10 * l),
    displayQty: fc.integer({ min: 1, max: 4 }).map((d) => d * l),
    stp,
  });
  const market = fc.record({ type: fc.constant("market" as const), id, owner, beneficialOwner: ben, side, qty, stp });
  const funds = fc.record({
    type: fc.constant("market" as const),
    id,
    owner,
    beneficialOwner: ben,
    side,
    funds: fc.integer({ min: 1, max: 4000 * t * l }),
    stp,
  });
  const stop = fc.record({
    type: fc.constant("stop" as const),
    id,
    owner,
    side,
    stopPrice: fc.integer({ min: 97, max: 103 }).map((p) => p * t),
    qty,
    price: fc.option(price, { nil: undefined }),
    stp,
  });
  const cancel = fc.record({ type: fc.constant("cancel" as const), id: liveId });
  const cancelAll = fc.record({ type: fc.constant("cancelAll" as const), owner });
  const amend = fc.record({
    type: fc.constant("amend" as const),
    id: liveId,
    // half keep their price: a same-price reduction is the amend that keeps priority
    price: fc.option(price, { nil: undefined, freq: 2 }),
    qty: fc.option(qty, { nil: undefined }),
  });
  const arbs: fc.WeightedArbitrary<Command>[] = [
    { weight: 10, arbitrary: limit },
    { weight: 2, arbitrary: postOnly },
    { weight: 2, arbitrary: iceberg },
    { weight: 3, arbitrary: market },
    { weight: 1, arbitrary: funds },
    { weight: 2, arbitrary: stop },
    { weight: 4, arbitrary: cancel },
    { weight: 1, arbitrary: cancelAll },
  ];
  if (opts.amend) arbs.push({ weight: 3, arbitrary: amend });
  return fc.array(fc.oneof(...arbs), { minLength: 1, maxLength: MAX_COMMANDS, size: "max" });
}

/** Counts across all runs of a property of what its runs exercised (event types, reasons, situations). */
type Seen = Map<string, number>;
function count(seen: Seen, key: string, n = 1): void {
  seen.set(key, (seen.get(key) ?? 0) + n);
}
function tally(seen: Seen, events: readonly EngineEvent[]): void {
  for (const e of events) {
    if (e.type === "cancelled" || e.type === "rejected") count(seen, e.reason);
    else if (e.type === "amended") count(seen, e.priorityKept ? "amendKeptPriority" : "amendRequeued");
    else count(seen, e.type);
  }
}

/** Per-run memory for `situations`: iceberg display sizes and fills so far, stops that have triggered. */
interface RunMemory {
  icebergs: Map<string, { display: number; traded: number }>;
  triggered: Set<string>;
}

/** Counts what a command went through beyond its event types: sweeps, iceberg refills, fills of funds and triggered orders. */
function situations(seen: Seen, mem: RunMemory, c: Command, events: readonly EngineEvent[]): void {
  const pricesByTaker = new Map<string, Set<number>>();
  for (const e of events) {
    if (e.type === "accepted") {
      // ids are reused once an order is gone
      mem.triggered.delete(e.id);
      if (c.type === "limit" && c.displayQty !== undefined && e.id === c.id) mem.icebergs.set(e.id, { display: c.displayQty, traded: 0 });
      else mem.icebergs.delete(e.id);
    } else if (e.type === "triggered") mem.triggered.add(e.id);
    else if (e.type === "trade") {
      const ps = pricesByTaker.get(e.taker) ?? new Set<number>();
      pricesByTaker.set(e.taker, ps.add(e.price));
      if (mem.triggered.has(e.taker)) count(seen, "triggeredTraded");
      if (c.type === "market" && c.funds !== undefined && e.taker === c.id) count(seen, "fundsTraded");
      // the visible part never exceeds the display size, so trading more than it means a hidden slice was shown
      const ice = mem.icebergs.get(e.maker);
      if (ice && ice.traded <= ice.display && (ice.traded += e.qty) > ice.display) count(seen, "icebergRefilled");
    }
  }
  for (const ps of pricesByTaker.values()) if (ps.size >= 2) count(seen, "sweep");
}

/** Fails naming what a property never exercised. */
function assertSeen(seen: Seen, keys: readonly string[]): void {
  for (const k of keys) assert.ok((seen.get(k) ?? 0) > 0, `never exercised: ${k} (saw ${JSON.stringify(Object.fromEntries(seen))})`);
}

function newEngine(cfg: RefConfig, l2 = false): MatchingEngine {
  return new MatchingEngine({ symbols: [{ ...cfg, bandTicks: cfg.bandTicks ?? undefined }], l2 });
}

/** Strips undefined optional fields the way a JSON journal would. */
function clean(c: Command): Command {
  return JSON.parse(JSON.stringify(c)) as Command;
}

/** What the reference-model runs must exercise: everything the generator can reach, plus each config's own limits. */
const COMMON_SEEN = [
  "long",
  "trade",
  "sweep",
  "depth3",
  "sideRefilled",
  "triggered",
  "triggeredTraded",
  "fundsTraded",
  "icebergRefilled",
  "amendKeptPriority",
  "amendRequeued",
  EngineCode.DUPLICATE_ID,
  EngineCode.UNKNOWN_ORDER,
  EngineCode.USER_CANCELLED,
  EngineCode.CANCEL_ALL,
  EngineCode.IOC_REMAINDER,
  EngineCode.FOK_NOT_FILLED,
  EngineCode.MARKET_NO_LIQUIDITY,
  EngineCode.POST_ONLY_WOULD_TAKE,
  EngineCode.STP_CANCEL_NEWEST,
  EngineCode.STP_CANCEL_OLDEST,
  EngineCode.STP_CANCEL_BOTH,
  EngineCode.STP_DECREMENT,
];
const MUST_SEE: readonly string[][] = [
  COMMON_SEEN,
  [...COMMON_SEEN, EngineCode.PRICE_NOT_ON_TICK, EngineCode.QTY_NOT_ON_LOT, EngineCode.QTY_BELOW_MIN, EngineCode.MARKET_PRICE_BAND],
  [...COMMON_SEEN, EngineCode.PRICE_NOT_ON_TICK, "levelsBeyondWindow"],
];

for (const [ci, cfg] of CONFIGS.entries()) {
  test(`engine = reference model: events, codes and book (config ${ci})`, () => {
    const seen: Seen = new Map();
    fc.assert(
      fc.property(commands(cfg, { amend: true }), (cmds) => {
        if (cmds.length >= MAX_COMMANDS * 0.9) count(seen, "long");
        const eng = newEngine(cfg);
        const ref = new ReferenceBook(cfg);
        const got: EngineEvent[] = [];
        const sink = collectEvents(got);
        const mem: RunMemory = { icebergs: new Map(), triggered: new Set() };
        // per side (bids, asks): had levels after the last command; emptied since having had some
        const hadLevels = [false, false];
        const sideEmptied = [false, false];
        for (const raw of cmds) {
          const c = clean(raw);
          const from = got.length;
          const a = eng.apply(c, sink);
          const b = ref.apply(c);
          assert.equal(a, b, `code for ${JSON.stringify(c)}`);
          // only this command's events: the earlier ones were compared after their own command
          assert.deepEqual(got.slice(from), ref.out.slice(from), `events after ${JSON.stringify(c)}`);
          tally(seen, got.slice(from));
          situations(seen, mem, c, got.slice(from));
          const l2 = eng.l2("S");
          assert.ok(l2);
          assert.deepEqual({ bids: l2.bids, asks: l2.asks }, ref.l2());
          const [bid, bidQty] = l2.bids[0] ?? [0, 0];
          const [ask, askQty] = l2.asks[0] ?? [0, 0];
          assert.deepEqual(eng.top("S"), { bid, bidQty, ask, askQty, seq: l2.seq }, "top() is l2's first level of each side");
          // never crossed after a command
          if (l2.bids.length && l2.asks.length) assert.ok(l2.bids[0][0] < l2.asks[0][0], "book crossed");
          for (const lv of [l2.bids, l2.asks]) {
            // two levels of one side further apart than the dense window: at least one is in the side's Map
            if (lv.length >= 2 && Math.abs(lv[0][0] - lv[lv.length - 1][0]) >= WINDOW) count(seen, "levelsBeyondWindow");
          }
          if (l2.bids.length >= 3 && l2.asks.length >= 3) count(seen, "depth3");
          const empty = [!l2.bids.length, !l2.asks.length];
          for (const i of [0, 1]) if (sideEmptied[i] && !empty[i]) count(seen, "sideRefilled");
          for (const i of [0, 1]) sideEmptied[i] = (sideEmptied[i] || hadLevels[i]) && empty[i];
          for (const i of [0, 1]) hadLevels[i] = !empty[i];
        }
      }),
      { numRuns: 250 },
    );
    assertSeen(seen, MUST_SEE[ci]);
  });

  test(`invariants: conservation, limits, FOK, post-only, STP (config ${ci})`, () => {
    const seen: Seen = new Map();
    fc.assert(
      fc.property(commands(cfg, { amend: false }), (cmds) => {
        const eng = newEngine(cfg);
        const ev: EngineEvent[] = [];
        const sink = collectEvents(ev);
        const byId = new Map<string, Command>();
        let placed = 0;
        let fundsFills = 0;
        let cancelled = 0;
        let traded = 0;
        const fundsIds = new Set<string>();
        const takerFill = new Map<string, number>();
        for (const raw of cmds) {
          const c = clean(raw);
          const from = ev.length;
          eng.apply(c, sink);
          tally(seen, ev.slice(from));
          for (const e of ev.slice(from)) {
            if (e.type === "accepted") {
              if (c.type === "limit" && c.postOnly) count(seen, "postOnlyAccepted");
              byId.set(e.id, c);
              takerFill.delete(e.id);
              placed += e.qty;
              if (c.type === "market" && c.funds !== undefined) fundsIds.add(e.id);
              else fundsIds.delete(e.id);
            } else if (e.type === "cancelled") cancelled += e.qty;
            else if (e.type === "trade") {
              traded += e.qty;
              if (fundsIds.has(e.taker)) fundsFills += e.qty;
              takerFill.set(e.taker, (takerFill.get(e.taker) ?? 0) + e.qty);
              const maker = byId.get(e.maker) as Command & { price: number; owner: string; beneficialOwner?: string };
              const taker = byId.get(e.taker) as Command & { price?: number; owner: string; beneficialOwner?: string; postOnly?: boolean };
              // trades at the maker's price, never beyond the taker's limit
              assert.equal(e.price, maker.price);
              if (taker.type !== "market" && taker.price !== undefined) {
                assert.ok(e.side === "buy" ? e.price <= taker.price : e.price >= taker.price, "beyond limit");
                if (e.price !== taker.price) count(seen, "tradeInsideLimit");
              }
              // STP: never with itself
              assert.notEqual(maker.owner, taker.owner);
              if (maker.beneficialOwner !== undefined) {
                assert.notEqual(maker.beneficialOwner, taker.beneficialOwner);
                count(seen, "beneficialOwnerChecked");
              }
              assert.ok(!taker.postOnly, "post-only took liquidity");
            }
          }
          // FOK all or nothing
          if (c.type === "limit" && c.tif === "FOK" && ev.slice(from).some((e) => e.type === "accepted")) {
            const f = takerFill.get(c.id) ?? 0;
            assert.ok(f === 0 || f === c.qty, `FOK partially filled ${f}/${c.qty}`);
            if (f === c.qty) count(seen, "fokFilled");
          }
        }
        const snap = eng.snapshot();
        let resting = 0;
        for (const o of [...snap.books[0].orders, ...snap.books[0].stops]) resting += o.qty + o.hidden;
        assert.equal(placed + fundsFills, 2 * traded + resting + cancelled, "quantity not conserved");
        if (fundsFills > 0) count(seen, "fundsFilled");
        if (resting > 0 && traded > 0 && cancelled > 0) count(seen, "allTermsNonZero");
      }),
      { numRuns: 250 },
    );
    assertSeen(seen, [
      "trade",
      "tradeInsideLimit",
      "beneficialOwnerChecked",
      "postOnlyAccepted",
      "fokFilled",
      "fundsFilled",
      "allTermsNonZero",
      EngineCode.FOK_NOT_FILLED,
      EngineCode.POST_ONLY_WOULD_TAKE,
      EngineCode.STP_CANCEL_NEWEST,
      EngineCode.STP_CANCEL_OLDEST,
      EngineCode.STP_CANCEL_BOTH,
      EngineCode.STP_DECREMENT,
    ]);
  });

  test(`snapshot/restore + replay of the tail = the engine that never stopped (config ${ci})`, () => {
    const seen: Seen = new Map();
    fc.assert(
      fc.property(commands(cfg, { amend: true }), fc.nat(), (cmds, cutSeed) => {
        const cut = cutSeed % (cmds.length + 1);
        const a = newEngine(cfg, true);
        const evA: EngineEvent[] = [];
        const sinkA = collectEvents(evA);
        for (const c of cmds.slice(0, cut)) a.apply(clean(c), sinkA);
        const snap = JSON.parse(JSON.stringify(a.snapshot())) as EngineSnapshot;
        const b = MatchingEngine.restore(snap);
        assert.equal(b.stateHash(), a.stateHash());
        const evB: EngineEvent[] = [];
        const mark = evA.length;
        const sinkB = collectEvents(evB);
        for (const c of cmds.slice(cut)) {
          a.apply(clean(c), sinkA);
          b.apply(clean(c), sinkB);
        }
        assert.deepEqual(evB, evA.slice(mark));
        assert.equal(b.stateHash(), a.stateHash());
        // what the tail did with state that crossed the snapshot
        const orders = new Map(snap.books[0].orders.map((o) => [o.id, o]));
        const stops = new Set(snap.books[0].stops.map((o) => o.id));
        for (const e of evB) {
          if (e.type === "trade" && orders.has(e.maker)) count(seen, orders.get(e.maker)?.hidden ? "restoredIcebergTraded" : "restoredTraded");
          else if (e.type === "cancelled" && (orders.has(e.id) || stops.has(e.id))) count(seen, "restoredCancelled");
          else if (e.type === "amended" && orders.has(e.id)) count(seen, "restoredAmended");
          else if (e.type === "triggered" && stops.has(e.id)) count(seen, "restoredStopTriggered");
          else if (e.type === "l2") count(seen, "l2");
        }
      }),
      { numRuns: 200 },
    );
    assertSeen(seen, ["restoredTraded", "restoredIcebergTraded", "restoredCancelled", "restoredAmended", "restoredStopTriggered", "l2"]);
  });

  test(`L2 deltas applied to an L2 snapshot give the next L2 snapshot (config ${ci})`, () => {
    const seen: Seen = new Map();
    fc.assert(
      fc.property(commands(cfg, { amend: true }), (cmds) => {
        const eng = newEngine(cfg, true);
        const book = { buy: new Map<number, number>(), sell: new Map<number, number>() };
        let seq = 0;
        for (const c of cmds) {
          eng.apply(clean(c), (e) => {
            if (e.type === "l2") {
              assert.ok(e.seq >= seq, "l2 seq went backwards");
              count(seen, e.qty === 0 ? "levelRemoved" : book[e.side].has(e.price) ? "levelChanged" : "levelAdded");
              if (e.qty === 0) book[e.side].delete(e.price);
              else book[e.side].set(e.price, e.qty);
            }
            if (e.type !== "rejected" || e.seq !== 0) seq = e.seq;
          });
          const l2 = eng.l2("S");
          assert.ok(l2);
          assert.equal(l2.seq, seq);
          assert.deepEqual([...book.buy.entries()].sort((x, y) => y[0] - x[0]), l2.bids);
          assert.deepEqual([...book.sell.entries()].sort((x, y) => x[0] - y[0]), l2.asks);
        }
      }),
      { numRuns: 150 },
    );
    assertSeen(seen, ["levelAdded", "levelChanged", "levelRemoved"]);
  });
}
