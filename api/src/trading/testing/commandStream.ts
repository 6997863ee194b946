/**
 * Random command streams for the trading core's property tests: fast-check steps (orders, stops,
 * amends, cancels, kill switches, halts, time passing) and the records they become, numbered as
 * the journal numbers them. The tests differ only in the shape of the stream they want.
 */
import fc from "fast-check";
import type { PlaceRecord, TradingRecord } from "../../records/tradingRecords.ts";

export const T0 = 1_700_000_000_000;
export const SYMBOL = "GOLD-VND";
/** Order ids as the journal gives them: a counter in 24 hex digits. */
export const hexId = (n: number) => n.toString(16).padStart(24, "0");
/** JSON that keeps bigints (as `123n`), for comparing snapshots, events and results byte for byte. */
export const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));

type Side = "buy" | "sell";
type Stp = PlaceRecord["stp"];
type Tif = PlaceRecord["tif"];

export type Step =
  | { k: "limit"; a: string; side: Side; ticks: number; q: number; stp: Stp; tif: Tif; post: boolean; vis: number | undefined }
  | { k: "market"; a: string; side: Side; q: number; funds: number | undefined; stp: Stp }
  | { k: "stop"; a: string; side: Side; kind: "loss" | "entry"; sp: number; ticks: number | undefined; q: number; funds: number | undefined; stp: Stp; tif: Tif; post: boolean }
  | { k: "amend"; n: number; ticks: number | undefined; q: number | undefined }
  | { k: "cancel"; n: number }
  | { k: "cancelAll"; a: string; scope: "orders" | "stops" | undefined }
  | { k: "freeze"; a: string; frozen: boolean }
  | { k: "halt"; halted: boolean }
  | { k: "wait"; ms: number };

export type StreamShape = {
  accounts: readonly string[];
  /** What each account deposits before the first step. */
  deposit: { VND: bigint; GOLD: bigint };
  /** Prices are 10,000 ± 100 × ticks, with ticks at most this far from 0. */
  ticks: number;
  /** How often each kind of step comes; a kind left out never does. */
  weights: Partial<Record<Step["k"], number>>;
  /** The largest size of each kind of order, and of an amended size. */
  maxSize: { limit: number; market: number; stop: number; amend: number };
  /** Every STP mode, IOC and FOK, post-only, icebergs and market buys by funds; otherwise plain GTC orders with STP CN. */
  everyOption: boolean;
  /** An amend may keep its price or its size (otherwise it sets both). */
  partialAmends: boolean;
  /** Amends and cancels aim at one of the orders placed last, this many of them. */
  recent: number;
};

const price = (ticks: number) => 10_000 + 100 * ticks;

/** The step arbitrary for a shape and the one way its steps become records (the deposits first). */
export function commandStream(shape: StreamShape): { step: fc.Arbitrary<Step>; recordsOf: (steps: Step[]) => TradingRecord[] } {
  const account = fc.constantFrom(...shape.accounts);
  const side = fc.constantFrom<Side>("buy", "sell");
  const ticks = fc.integer({ min: -shape.ticks, max: shape.ticks });
  const size = (max: number) => fc.integer({ min: 1, max });
  const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const all = shape.everyOption;
  const stp: fc.Arbitrary<Stp> = all ? fc.constantFrom<Stp>("CN", "CO", "CB", "DC") : fc.constant("CN");
  const tif: fc.Arbitrary<Tif> = all ? fc.constantFrom<Tif>("GTC", "IOC", "FOK") : fc.constant("GTC");
  const post = all ? fc.boolean() : fc.constant(false);
  const vis = all ? maybe(fc.integer({ min: 1, max: 5 })) : fc.constant(undefined);
  const funds = all ? maybe(fc.integer({ min: 1_000, max: 300_000 })) : fc.constant(undefined);
  const amendTicks = shape.partialAmends ? maybe(ticks) : ticks;
  const amendSize = shape.partialAmends ? maybe(size(shape.maxSize.amend)) : size(shape.maxSize.amend);

  const kinds: { [K in Step["k"]]: fc.Arbitrary<Extract<Step, { k: K }>> } = {
    limit: fc.record({ k: fc.constant("limit"), a: account, side, ticks, q: size(shape.maxSize.limit), stp, tif, post, vis }),
    market: fc.record({ k: fc.constant("market"), a: account, side, q: size(shape.maxSize.market), funds, stp }),
    stop: fc.record({ k: fc.constant("stop"), a: account, side, kind: fc.constantFrom("loss", "entry"), sp: ticks, ticks: maybe(ticks), q: size(shape.maxSize.stop), funds, stp, tif, post }),
    amend: fc.record({ k: fc.constant("amend"), n: fc.nat(), ticks: amendTicks, q: amendSize }),
    cancel: fc.record({ k: fc.constant("cancel"), n: fc.nat() }),
    cancelAll: fc.record({ k: fc.constant("cancelAll"), a: account, scope: fc.constantFrom("orders", "stops", undefined) }),
    freeze: fc.record({ k: fc.constant("freeze"), a: account, frozen: fc.boolean() }),
    halt: fc.record({ k: fc.constant("halt"), halted: fc.boolean() }),
    wait: fc.record({ k: fc.constant("wait"), ms: fc.integer({ min: 1, max: 40 }) }),
  };
  const weighted = (Object.keys(kinds) as Array<Step["k"]>).flatMap((k) => {
    const weight = shape.weights[k] ?? 0;
    return weight > 0 ? [{ weight, arbitrary: kinds[k] as fc.Arbitrary<Step> }] : [];
  });
  const step = fc.oneof(...weighted);

  function recordsOf(steps: Step[]): TradingRecord[] {
    const out: TradingRecord[] = [];
    let ts = T0;
    for (const a of shape.accounts) for (const [currency, amount] of Object.entries(shape.deposit)) out.push({ t: "deposit", ts: ++ts, accountId: a, currency, amount: amount.toString(), ref: `${currency}-${a}` });
    const placed: Array<{ orderId: string; accountId: string }> = [];
    steps.forEach((c, i) => {
      if (c.k === "limit" || c.k === "market" || c.k === "stop") {
        const orderId = hexId(placed.length + 1);
        placed.push({ orderId, accountId: c.a });
        const common = { t: "place" as const, ts: ++ts, orderId, accountId: c.a, identityHash: `id-${c.a}`, symbol: SYMBOL, side: c.side, clientOid: `c${i}`, stp: c.stp, tif: "GTC" as const, postOnly: false };
        const byFunds = c.side === "buy" && c.k !== "limit" && c.funds !== undefined ? { funds: String(c.funds) } : { size: c.q };
        let r: PlaceRecord;
        if (c.k === "limit") r = { ...common, type: "limit", price: price(c.ticks), size: c.q, tif: c.tif, postOnly: c.post && c.tif === "GTC", ...(c.vis === undefined ? {} : { visibleSize: c.vis }) };
        else if (c.k === "market") r = { ...common, type: "market", ...byFunds };
        else {
          const stop = { stopPrice: price(c.sp), kind: c.kind };
          r = c.ticks === undefined ? { ...common, type: "market", ...byFunds, stop } : { ...common, type: "limit", price: price(c.ticks), size: c.q, stop, tif: c.tif, postOnly: c.post && c.tif === "GTC" };
        }
        out.push(r);
      } else if (c.k === "amend" || c.k === "cancel") {
        if (placed.length === 0) return;
        const o = placed[placed.length - 1 - (c.n % Math.min(placed.length, shape.recent))];
        if (c.k === "cancel") out.push({ t: "cancel", ts: ++ts, orderId: o.orderId, accountId: o.accountId });
        else out.push({ t: "amend", ts: ++ts, orderId: o.orderId, accountId: o.accountId, price: c.ticks === undefined ? undefined : price(c.ticks), size: c.q });
      } else if (c.k === "cancelAll") out.push({ t: "cancelAll", ts: ++ts, accountId: c.a, reason: "user", scope: c.scope });
      else if (c.k === "freeze") out.push({ t: "accountStatus", ts: ++ts, accountId: c.a, frozen: c.frozen, reason: "kill switch" });
      else if (c.k === "halt") out.push({ t: "marketStatus", ts: ++ts, symbol: SYMBOL, halted: c.halted, reason: "operator" });
      else ts += c.ms;
    });
    return out;
  }

  return { step, recordsOf };
}
