import type { Listing } from "../listing/listing.ts";
import type { Balance } from "../ledger/ledger.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { Order } from "../records/orders.ts";
import type { PlaceRecord } from "../records/tradingRecords.ts";

/** What the checks read of a live order: the part still open and what it can still bring. */
export type RiskOrder = Readonly<Pick<Order, "symbol" | "side" | "price" | "size" | "dealSize" | "funds" | "dealFunds" | "stop" | "isActive">>;

/** The order fields a hold is priced from. */
export type HoldInput = Pick<PlaceRecord, "symbol" | "side" | "type" | "price" | "size" | "funds" | "stop">;

/**
 * The exchange's state as the pre-trade and holder-rule checks see it: reads only, so a check
 * cannot change what it judges. The trading core satisfies it as it is (the sequencer passes its
 * core); a test or a replica can pass anything with these members.
 */
export interface RiskView {
  readonly catalog: Pick<MarketCatalog, "market" | "notional">;
  readonly ledger: { balance(accountId: string, currency: string): Readonly<Pick<Balance, "available">> };
  order(orderId: string): RiskOrder | undefined;
  /** Any order, live or retained, that already used this clientOid. */
  orderByClientOid(accountId: string, clientOid: string): RiskOrder | undefined;
  openOrderIds(accountId: string): ReadonlySet<string>;
  /** Why the account is frozen, or undefined. */
  isFrozen(accountId: string): string | undefined;
  isHalted(symbol: string, now: number): boolean;
  marketState(symbol: string): { readonly lastPrice: number; readonly haltReason: string } | undefined;
  listing(symbol: string): Readonly<Pick<Listing, "base" | "offeringOpensAt" | "prospectus" | "assetClass">> | undefined;
  bestPrices(symbol: string): { readonly bid: number; readonly ask: number };
  /** The hold an order needs at acceptance, or null if it cannot be priced. */
  holdFor(order: HoldInput): { readonly currency: string; readonly amount: bigint } | null;
}
