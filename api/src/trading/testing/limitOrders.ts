import type { PlaceRecord } from "../../records/tradingRecords.ts";
import type { PlaceInput } from "../tradingService.ts";
import { SYMBOL } from "./commandStream.ts";

/** A GTC limit order as a test places it (identity `id-<account>`, STP cancel-newest). */
export function limitOrder(accountId: string, side: "buy" | "sell", price: number, size: number, clientOid: string): PlaceInput {
  return { accountId, identityHash: `id-${accountId}`, symbol: SYMBOL, side, type: "limit", price, size, tif: "GTC", postOnly: false, stp: "CN", clientOid };
}

/** The same order as its journal record, `orderId` accepted at `ts` (a stop order when `stop` is given). */
export function limitPlaceRecord(
  ts: number,
  orderId: string,
  order: { accountId: string; side: "buy" | "sell"; price: number; size: number; clientOid: string },
  stop?: PlaceRecord["stop"],
): PlaceRecord {
  return { t: "place", ts, orderId, ...limitOrder(order.accountId, order.side, order.price, order.size, order.clientOid), ...(stop ? { stop } : {}) };
}
