import type { Listing } from "../listing/listing.ts";
import type { FailedSettlement, Fill, Order, Withdrawal } from "../records/orders.ts";
import type { CustodyDebitRecord } from "../records/tradingRecords.ts";

/**
 * What the trading core tells the rest of the gateway after each applied record: market
 * data, private streams, metrics and (later) the audit log subscribe to these.
 */
/** `triggered`: a stop order became live (audit trail; not a KuCoin private-channel type). */
export type OrderChange = "open" | "match" | "filled" | "canceled" | "update" | "rejected" | "triggered";

export type TradingEvent =
  | { kind: "order"; change: OrderChange; order: Readonly<Order>; fill?: Fill; ts: number }
  /** `funds`: the sale value (quote units); `sellerTax`: what was withheld from it. */
  | { kind: "trade"; symbol: string; tradeId: string; price: number; size: number; side: "buy" | "sell"; makerOrderId: string; takerOrderId: string; ts: number; sequence: number; funds: bigint; sellerTax: bigint }
  /** `sequence`: the gap-free per-symbol level2 sequence, stamped by MarketData (a state listener) before delivery. */
  | { kind: "l2"; symbol: string; side: "buy" | "sell"; price: number; size: number; ts: number; sequence?: number }
  | { kind: "balance"; accountId: string; currency: string; available: bigint; hold: bigint; relationEvent: string; ts: number }
  | { kind: "marketStatus"; symbol: string; halted: boolean; reason: string; ts: number }
  | { kind: "accountStatus"; accountId: string; frozen: boolean; reason: string; ts: number }
  | { kind: "settled"; tradeIds: string[]; txHash: string; ts: number }
  | { kind: "settlementFailed"; trade: FailedSettlement; ts: number }
  | { kind: "settlementResolved"; trade: FailedSettlement; action: "retry" | "reverse"; by: string; note?: string; ts: number }
  | { kind: "withdrawal"; withdrawal: Withdrawal; ts: number }
  /**
   * Custody that left the vault by the token agent's powers was taken off the ledger: `cancelled`
   * the orders ended to release their holds (newest first), `owed` what the account still lacked
   * (0 when it was all there): the operator's to look into.
   */
  | { kind: "custodyDebited"; debit: CustodyDebitRecord; cancelled: string[]; owed: bigint; ts: number }
  | { kind: "listed"; listing: Listing; ts: number }
  | { kind: "taxPolicy"; rateBps: number; previousBps: number; source: string; by: string; ts: number };

export type TradingListener = (event: TradingEvent) => void;
