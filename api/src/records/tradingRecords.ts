/**
 * What the trading core journals: accepted commands, after the pre-trade checks, with the
 * ids and the time assigned at acceptance. Replaying these records through the core's `apply`
 * rebuilds books, ledger and orders exactly (nothing here is random or read from a clock
 * during apply). Amounts that can exceed 2^53 are decimal strings.
 */
import type { Listing } from "../listing/listing.ts";

export type KucoinStp = "CN" | "CO" | "CB" | "DC";

/**
 * When a record was accepted, from the business clock (clock/microClock.ts): `ts` in
 * milliseconds since the epoch (what the core, KuCoin's fields and older journals use) and `us`
 * the microseconds within that millisecond, 0..999. Records journaled before the clock had
 * microseconds have no `us` (read as 0). Both are journaled, so a replay reproduces the exact
 * time and never reads a clock.
 */
export type RecordTime = { ts: number; us?: number };

/** Epoch microseconds of a record time. */
export function recordMicros(t: RecordTime): bigint {
  return BigInt(t.ts) * 1000n + BigInt(t.us ?? 0);
}

/** The record time of an epoch-microsecond clock reading. */
export function recordTimeOf(epochMicros: bigint): Required<RecordTime> {
  return { ts: Number(epochMicros / 1000n), us: Number(epochMicros % 1000n) };
}

export type PlaceRecord = {
  t: "place";
  ts: number; // ms since epoch, assigned at acceptance
  us?: number; // the microseconds within `ts` (RecordTime)
  orderId: string;
  accountId: string;
  identityHash: string;
  symbol: string;
  side: "buy" | "sell";
  type: "limit" | "market";
  price?: number; // limit price in engine units
  size?: number; // base smallest units
  funds?: string; // market buy by quote amount (smallest units)
  tif: "GTC" | "IOC" | "FOK";
  postOnly: boolean;
  visibleSize?: number; // iceberg
  stp: KucoinStp;
  stop?: { stopPrice: number; kind: "loss" | "entry" };
  clientOid: string;
  apiKeyId?: string;
};

/**
 * `cmd`: the command bus entry that asked for it (split deployments). A sequencer taking over
 * answers that command again, and only this tells an order the cancel ended from one it found
 * already ended and refused.
 */
export type CancelRecord = { t: "cancel"; ts: number; us?: number; orderId: string; accountId: string; cmd?: string };

export type CancelReason = "user" | "killSwitch" | "disconnect" | "identity" | "halt";
/**
 * `scope`: which orders it cancels. KuCoin keeps untriggered stop orders apart from the order
 * book: "orders" cancels only live orders (triggered stops included), "stops" only stops still
 * waiting for their trigger; absent, both (kill switch, halts, and records from before stops).
 */
export type CancelAllRecord = { t: "cancelAll"; ts: number; us?: number; accountId: string; symbol?: string; reason: CancelReason; scope?: "orders" | "stops" };

/**
 * A change of a live limit order's price and/or total size (KuCoin's order alter), after the
 * pre-trade checks for the new price and size. `size` is the new total (filled part included).
 * The engine keeps the order's time priority only when the size goes down at the same price.
 * `cmd`: the command bus entry that asked for it (split deployments), as a cancel's: a
 * sequencer taking over answers that command again, and only this tells an amendment that
 * reached the journal from one refused before it.
 */
export type AmendRecord = { t: "amend"; ts: number; us?: number; orderId: string; accountId: string; price?: number; size?: number; cmd?: string };

/** `by`: the operator who credited it by hand; absent for the chain watcher's credits of vault deposits. */
export type DepositRecord = { t: "deposit"; ts: number; us?: number; accountId: string; currency: string; amount: string; ref: string; by?: string };

export type MarketStatusRecord = { t: "marketStatus"; ts: number; us?: number; symbol: string; halted: boolean; reason: string; until?: number; by?: string };

/** The `by` of the freeze the chain's identity sweep journals for a revoked e-ID: its cancels are for "identity", not a kill switch. */
export const IDENTITY_SWEEP = "identity-sweep";

/** `by`: the operator wallet or service that acted (audit trail). */
export type AccountStatusRecord = { t: "accountStatus"; ts: number; us?: number; accountId: string; frozen: boolean; reason: string; by?: string };

/** Operator change of pre-trade limits: journaled so limits survive restarts and are audited. */
/** `reason`: the operator's words (required by the route since #17; absent in older journals, which replay as they were). */
export type RiskLimitsRecord = { t: "riskLimits"; ts: number; us?: number; scope: "defaults" | "symbol" | "account"; key?: string; limits: Record<string, unknown>; by: string; reason?: string };

/**
 * The personal income tax rate withheld from every sale from this record on (basis points of
 * the sale value). Journaled when the rate's source (the vault's tax policy on chain, or the
 * configuration without a chain) differs from the core's, so replay taxes each trade at the rate
 * it was made at. Before the first such record the rate is 0.
 */
export type TaxPolicyRecord = { t: "taxPolicy"; ts: number; us?: number; rateBps: number; source: string; by: string };

/** An asset listed through the operator flow: its market exists from this record on. */
export type ListingRecord = { t: "listing"; ts: number; us?: number; listing: Listing };

/** A batch of trades confirmed settled on chain (SettlementVault.settleBatch). */
export type SettledRecord = { t: "settled"; ts: number; us?: number; tradeIds: string[]; txHash: string };

/**
 * A trade the vault refuses to settle (`reason`: the decoded revert, e.g.
 * `ERC7943CannotReceive(0x…)`): it leaves the settlement queue, so the trades behind it go on
 * settling, and waits for an operator's resolution.
 */
export type SettleFailedRecord = { t: "settleFailed"; ts: number; us?: number; tradeId: string; reason: string };

/**
 * An operator's resolution of a failed settlement: `retry` queues it again (e.g. after the
 * identity was restored); `reverse` undoes it on the ledger (each side gets back exactly what
 * it gave, fees included) and it is never settled.
 */
export type SettleResolveRecord = { t: "settleResolve"; ts: number; us?: number; tradeId: string; action: "retry" | "reverse"; by: string; note?: string };

/** A withdrawal asked for by the account: the amount goes on hold until the chain confirms. */
export type WithdrawRequestRecord = { t: "withdrawRequest"; ts: number; us?: number; withdrawalId: string; accountId: string; currency: string; amount: string };
export type WithdrawDoneRecord = { t: "withdrawDone"; ts: number; us?: number; withdrawalId: string; txHash: string };
export type WithdrawFailedRecord = { t: "withdrawFailed"; ts: number; us?: number; withdrawalId: string; reason: string };

/**
 * Custody that left the settlement vault by the token agent's powers, not by a trade or a
 * withdrawal: `returned` (PermissionedToken.recoverBalance: a lost wallet's custody paid out to
 * a new wallet of the same identity, into that wallet, not into its custody) or `seized`
 * (forcedCustodyTransfer: a court order or a sanction). Debited from `accountId` (the wallet the
 * vault booked it for) exactly once per `ref`, `vault:<vault>:<txHash>:<logIndex>`; `to` is the
 * wallet that received it. Applying it takes available first, then cancels the account's orders
 * holding the currency, and records what is still missing as owed (see the trading core).
 */
export type CustodyDebitRecord = { t: "custodyDebit"; ts: number; us?: number; accountId: string; currency: string; amount: string; ref: string; kind: "returned" | "seized"; to: string; txHash: string };

export type TradingRecord =
  | RiskLimitsRecord
  | TaxPolicyRecord
  | ListingRecord
  | PlaceRecord
  | CancelRecord
  | CancelAllRecord
  | AmendRecord
  | DepositRecord
  | MarketStatusRecord
  | AccountStatusRecord
  | SettledRecord
  | SettleFailedRecord
  | SettleResolveRecord
  | WithdrawRequestRecord
  | WithdrawDoneRecord
  | WithdrawFailedRecord
  | CustodyDebitRecord;
