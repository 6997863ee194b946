import type { KucoinStp, PlaceRecord } from "./tradingRecords.ts";

/** An order as the gateway reports it (KuCoin's order fields, in integer units). */
export type Order = {
  orderId: string;
  clientOid: string;
  accountId: string;
  identityHash: string;
  symbol: string;
  side: "buy" | "sell";
  type: "limit" | "market";
  price: number; // 0 for market
  size: number; // 0 for market-by-funds
  funds: bigint; // 0 unless market-by-funds
  tif: "GTC" | "IOC" | "FOK";
  postOnly: boolean;
  visibleSize: number; // 0 unless iceberg
  stp: KucoinStp;
  /** `triggeredAt`: record time of the trigger (absent while waiting, and in older snapshots). */
  stop?: { stopPrice: number; kind: "loss" | "entry"; triggered: boolean; triggeredAt?: number };
  createdAt: number;
  updatedAt: number;
  isActive: boolean;
  cancelExist: boolean;
  /** Why it ended when it did not fill: an engine or risk code. */
  doneReason?: string;
  dealSize: number;
  dealFunds: bigint;
  fee: bigint; // quote smallest units
  /** Σ notional × fee bps over the fills (fees are charged on the running total, rounded up once). */
  feeBasis: bigint;
  holdCurrency: string;
  holdRemaining: bigint;
  apiKeyId?: string;
};

export type Fill = {
  tradeId: string;
  orderId: string;
  counterOrderId: string;
  accountId: string;
  symbol: string;
  side: "buy" | "sell";
  liquidity: "maker" | "taker";
  price: number;
  size: number;
  funds: bigint;
  fee: bigint;
  feeRate: number; // bps
  /** Personal income tax withheld from this fill's proceeds (sells only; 0n on buys), in the quote currency. */
  tax: bigint;
  createdAt: number;
  /** The order's type, kept here because the order itself may be forgotten before its fills. */
  orderType?: "limit" | "market";
  /** The settleBatch transaction that delivered this trade on chain, once confirmed. */
  settlementTxHash?: string;
  /** Absent while settling or once settled; "failed" when the vault refused it, "reversed" once undone on the ledger. */
  settlementStatus?: "failed" | "reversed";
  /** Why the vault refused it (the decoded revert). */
  settlementError?: string;
};

/** A trade waiting for (or confirmed by) on-chain delivery-versus-payment. */
export type SettlementTrade = {
  tradeId: string;
  symbol: string;
  sellerAccount: string;
  buyerAccount: string;
  size: number; // base units delivered
  funds: bigint; // quote units paid (before fees)
  sellerFee: bigint;
  buyerFee: bigint;
  /** Tax withheld from the seller's proceeds, paid to the tax account; the vault checks it against its tax rate. */
  sellerTax: bigint;
  createdAt: number;
};

/** A trade the vault refused, waiting for an operator (retry or reverse). */
export type FailedSettlement = SettlementTrade & { reason: string; failedAt: number };

export type Withdrawal = {
  withdrawalId: string;
  accountId: string;
  currency: string;
  amount: bigint;
  status: "PROCESSING" | "SUCCESS" | "FAILURE";
  txHash?: string;
  reason?: string;
  createdAt: number;
  updatedAt: number;
};

export function orderFromRecord(r: PlaceRecord, holdCurrency: string, hold: bigint): Order {
  return {
    orderId: r.orderId,
    clientOid: r.clientOid,
    accountId: r.accountId,
    identityHash: r.identityHash,
    symbol: r.symbol,
    side: r.side,
    type: r.type,
    price: r.price ?? 0,
    size: r.size ?? 0,
    funds: r.funds === undefined ? 0n : BigInt(r.funds),
    tif: r.tif,
    postOnly: r.postOnly,
    visibleSize: r.visibleSize ?? 0,
    stp: r.stp,
    stop: r.stop ? { ...r.stop, triggered: false } : undefined,
    createdAt: r.ts,
    updatedAt: r.ts,
    isActive: true,
    cancelExist: false,
    dealSize: 0,
    dealFunds: 0n,
    fee: 0n,
    feeBasis: 0n,
    holdCurrency,
    holdRemaining: hold,
    apiKeyId: r.apiKeyId,
  };
}

/** A stop order still waiting for its trigger: KuCoin lists these apart from the order book's orders. */
export function isWaitingStop(o: Pick<Order, "stop">): boolean {
  return o.stop !== undefined && !o.stop.triggered;
}

/**
 * KuCoin's stop kinds on the last trade price: "loss" triggers at or below the stop price,
 * "entry" at or above, whatever the side.
 */
export function stopReached(stop: { stopPrice: number; kind: "loss" | "entry" }, lastPrice: number): boolean {
  return stop.kind === "loss" ? lastPrice <= stop.stopPrice : lastPrice >= stop.stopPrice;
}

/** A credited deposit as the account's deposit history keeps it (`ref`: the chain's reference). */
export type Deposit = { accountId: string; currency: string; amount: bigint; ref: string; createdAt: number };
