import type { Balance } from "../ledger/ledger.ts";
import type { Listing } from "../listing/listing.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { HolderRules } from "../risk/holderRules.ts";
import type { TradingListener } from "./events.ts";
import type { Deposit, FailedSettlement, Fill, Order, SettlementTrade, Withdrawal } from "../records/orders.ts";
import type { TradingCore } from "./tradingCore.ts";

/** A market's last price and halt, as the core keeps it (its type is the core's own). */
export type MarketStateView = NonNullable<ReturnType<TradingCore["marketState"]>>;

/** The catalog's reads: listing a market adds to it through a record, never through a reader. */
export type CatalogView = Pick<MarketCatalog, "currencies" | "markets" | "market" | "currency" | "check" | "notional">;

/**
 * What routes, chain services and the listing flow may read of the exchange's state: the
 * trading core's reads, nothing that changes it (commands go through TradingService). On an
 * edge it reads the replica, in a single process or on the sequencer the core itself; the
 * values are the core's own objects, live, so a reader copies what it must keep.
 */
export interface TradingQueries {
  order(orderId: string): Readonly<Order> | undefined;
  orderByClientOid(accountId: string, clientOid: string): Readonly<Order> | undefined;
  /** Retained orders (open, and finished within the retention), newest first. */
  accountOrders(accountId: string): readonly Readonly<Order>[];
  openOrderIds(accountId: string): ReadonlySet<string>;
  /** The latest fills kept per account, oldest first. */
  fills(accountId: string): readonly Readonly<Fill>[];
  /** Credited deposits, oldest first. */
  deposits(accountId: string): readonly Readonly<Deposit>[];

  balance(accountId: string, currency: string): Readonly<Balance>;
  /** Every account the ledger holds a balance row for (wallets, and the fee and tax accounts). */
  ledgerAccounts(): Iterable<string>;
  /** The ledger accounts credited with every fee and with the tax withheld from sales. */
  readonly houseAccounts: { readonly fee: string; readonly tax: string };
  /** The balances that owe what a custody debit could not take (Ledger's `owed`), oldest debt first. */
  owing(): Array<{ account: string; currency: string; balance: Readonly<Balance> }>;

  /** The kill switch's reason, undefined when the account trades. */
  isFrozen(accountId: string): string | undefined;
  frozenAccounts(): ReadonlyMap<string, string>;
  marketState(symbol: string): Readonly<MarketStateView> | undefined;
  isHalted(symbol: string, now: number): boolean;

  unsettledCount(): number;
  unsettledTrades(): Iterable<Readonly<SettlementTrade>>;
  failedSettlements(): Iterable<Readonly<FailedSettlement>>;
  withdrawal(withdrawalId: string): Readonly<Withdrawal> | undefined;
  withdrawals(): Iterable<Readonly<Withdrawal>>;

  listing(symbol: string): Readonly<Listing> | undefined;
  listings(): Iterable<Readonly<Listing>>;
  /** Basis points withheld from each sale in force now. */
  taxRateBps(): number;
  catalog: CatalogView;

  /**
   * Each change as the core applies it, before it is durable (TradingService.subscribe is after):
   * a reader that must count a trade from the moment it exists (the holder rules' pending
   * settlements) listens here. Returns the unsubscribe.
   */
  onApplied(listener: TradingListener): () => void;
  /** What the holder rules read to judge an account's eligibility (typed by the rules themselves; the core is one). */
  riskView: Parameters<HolderRules["eligibility"]>[1];
}

/** The port over a core (the sequencer's, or an edge's replica): each read is the core's public one. */
export function tradingQueries(core: TradingCore): TradingQueries {
  return {
    order: (orderId) => core.order(orderId),
    orderByClientOid: (accountId, clientOid) => core.orderByClientOid(accountId, clientOid),
    accountOrders: (accountId) => core.accountOrders(accountId),
    openOrderIds: (accountId) => core.openOrderIds(accountId),
    fills: (accountId) => core.fills(accountId),
    deposits: (accountId) => core.deposits(accountId),
    balance: (accountId, currency) => core.ledger.balance(accountId, currency),
    ledgerAccounts: () => core.ledger.accounts(),
    owing: () => core.ledger.owing(),
    houseAccounts: Object.freeze({ fee: core.feeAccount, tax: core.taxAccount }),
    isFrozen: (accountId) => core.isFrozen(accountId),
    frozenAccounts: () => core.frozenAccounts(),
    marketState: (symbol) => core.marketState(symbol),
    isHalted: (symbol, now) => core.isHalted(symbol, now),
    unsettledCount: () => core.unsettledCount(),
    unsettledTrades: () => core.unsettledTrades(),
    failedSettlements: () => core.failedSettlements(),
    withdrawal: (withdrawalId) => core.withdrawal(withdrawalId),
    withdrawals: () => core.withdrawals(),
    listing: (symbol) => core.listing(symbol),
    listings: () => core.listings(),
    taxRateBps: () => core.taxRateBps,
    catalog: core.catalog,
    onApplied: (listener) => core.subscribe(listener),
    riskView: core,
  };
}
