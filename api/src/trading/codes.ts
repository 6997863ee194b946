/**
 * The trading layer's code table: commands the sequencer or the core refuses (risk and engine
 * codes have their own tables). Every code maps to a KuCoin code in http/errors.ts; a test
 * walks the tables.
 */
export const TradingCode = {
  ORDER_NOT_FOUND: "TRADING_ORDER_NOT_FOUND",
  ORDER_NOT_ACTIVE: "TRADING_ORDER_NOT_ACTIVE",
  ENGINE_REJECTED: "TRADING_ENGINE_REJECTED",
  UNKNOWN_SYMBOL: "TRADING_UNKNOWN_SYMBOL",
  UNKNOWN_CURRENCY: "TRADING_UNKNOWN_CURRENCY",
  /** A deposit or withdrawal of zero or less. */
  BAD_AMOUNT: "TRADING_BAD_AMOUNT",
  /** A deposit reference already credited (the core's answer; the service skips it before). */
  DEPOSIT_DUPLICATE: "DEPOSIT_DUPLICATE",
  WITHDRAWAL_NOT_PENDING: "WITHDRAWAL_NOT_PENDING",
  /** A custody debit reference already applied (the core's answer; the service skips it before). */
  CUSTODY_DEBIT_DUPLICATE: "CUSTODY_DEBIT_DUPLICATE",
  /**
   * Why an order ended when custody left the vault by the token agent's powers (recovery,
   * seizure): its hold was released to cover the debit (the order's `remark`, the audit's `ruleId`).
   */
  CUSTODY_DEBITED: "TRADING_CUSTODY_DEBITED",
  SETTLEMENT_NOT_PENDING: "SETTLEMENT_NOT_PENDING",
  SETTLEMENT_NOT_FAILED: "SETTLEMENT_NOT_FAILED",
  SETTLEMENT_REVERSE_INSUFFICIENT: "SETTLEMENT_REVERSE_INSUFFICIENT",
  /** An order in a listed market before its offering opens (the pilot's offering window). */
  OFFERING_NOT_OPEN: "TRADING_OFFERING_NOT_OPEN",
  /** A listing of a market that exists, or that the catalog cannot take (e.g. tick and lot sizes that make fractional amounts). */
  LISTING_REFUSED: "TRADING_LISTING_REFUSED",
  /** A snapshot written by a version of Sen this one cannot read: recovery stops rather than guess. */
  SNAPSHOT_UNSUPPORTED: "TRADING_SNAPSHOT_UNSUPPORTED",
  /**
   * A record the core could not apply (a broken invariant) or the journal could not take: the
   * sequencer stopped (fail-stop), the record was not journaled, and a restart rebuilds the state
   * from the journal without it.
   */
  HALTED: "TRADING_HALTED",
} as const;
export type TradingCode = (typeof TradingCode)[keyof typeof TradingCode];
