import type { Command, StpMode } from "../../../matching-engine/src/index.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import { divCeil } from "../money/decimal.ts";
import type { Order } from "../records/orders.ts";
import type { KucoinStp, PlaceRecord } from "../records/tradingRecords.ts";

/**
 * What an order costs and how the engine sees it: its hold, its fee on each trade, the engine
 * command that makes it live. Pure arithmetic on the catalog's units, the same for a live apply
 * and a replay (no clock, no state but the order and the price it is given).
 */

const BPS = 10_000n;
const STP: Record<KucoinStp, StpMode> = { CN: "cancelNewest", CO: "cancelOldest", CB: "cancelBoth", DC: "decrement" };

/** The terms a hold is priced from: an order being placed (a record) or one already accepted. */
export type HoldTerms = Pick<PlaceRecord, "symbol" | "side" | "type" | "price" | "size" | "funds" | "stop">;

/**
 * The hold an order needs at acceptance (quote for buys, base for sells), or null if it cannot
 * be priced. `bestAsk`: the book's best ask now (0 when empty), which a market buy by size is held at.
 */
export function holdOf(catalog: MarketCatalog, r: HoldTerms, bestAsk: (symbol: string) => number): { currency: string; amount: bigint } | null {
  const market = catalog.market(r.symbol);
  if (!market) return null;
  if (r.side === "sell") return { currency: market.base, amount: BigInt(r.size ?? 0) };
  let notional: bigint;
  if (r.type === "limit") notional = catalog.notional(market, r.price ?? 0, r.size ?? 0);
  else if (r.funds !== undefined) notional = BigInt(r.funds);
  else {
    // A market buy by size cannot trade beyond the protection band: hold for its edge. A stop
    // waiting for its trigger is priced at its stop price (held again at the ask when it triggers).
    const ask = r.stop ? r.stop.stopPrice : bestAsk(r.symbol);
    const bound = ask === 0 ? 0 : ask + Math.floor((ask * market.bandBps) / 10_000);
    notional = catalog.notional(market, bound, r.size ?? 0);
  }
  // A limit buy may trade as maker or as taker, so it holds for the higher fee: a fee above the
  // hold would be paid from the account's other orders' holds.
  const feeBps = r.type === "limit" ? Math.max(market.makerFeeBps, market.takerFeeBps) : market.takerFeeBps;
  return { currency: market.quote, amount: notional + divCeil(notional * BigInt(feeBps), BPS) };
}

/** Charges `o` its fee on a trade of `notional` at `bps`: the fee is rounded up on the order's running total, so the parts add up to the whole. */
export function chargeFee(o: Order, notional: bigint, bps: number): bigint {
  o.feeBasis += notional * BigInt(bps);
  const due = divCeil(o.feeBasis, BPS) - o.fee;
  o.fee += due;
  return due;
}

/** The seller's income tax withheld from a sale of `notional` at `rateBps`: per trade and rounded down to the quote's smallest unit, exactly as the vault recomputes it on chain. */
export function sellerTaxOf(notional: bigint, rateBps: number): bigint {
  return (notional * BigInt(rateBps)) / BPS;
}

/** The engine's funds per unit of an order's funds (see engineCommand); 1 where funds are unused. */
export function fundsScaleOf(catalog: MarketCatalog, o: Readonly<Order>): bigint {
  return o.funds > 0n ? catalog.notionalScale(catalog.market(o.symbol)!) : 1n;
}

/** The engine command that makes `o` live (at acceptance, or when its stop triggers). */
export function engineCommand(o: Readonly<Order>, fundsScale: bigint): Command {
  const base = { symbol: o.symbol, id: o.orderId, owner: o.accountId, beneficialOwner: o.identityHash, side: o.side, stp: STP[o.stp], ts: o.updatedAt } as const;
  if (o.type === "limit") return { ...base, type: "limit", price: o.price, qty: o.size, tif: o.tif, postOnly: o.postOnly || undefined, displayQty: o.visibleSize || undefined };
  // The engine counts funds in price x qty units; the catalog's notional is price x qty / 10^d
  // (d: the base's decimals), so funds are scaled up to the engine's unit.
  if (o.funds > 0n) return { ...base, type: "market", funds: o.funds * fundsScale };
  return { ...base, type: "market", qty: o.size };
}
