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
  SETTLEMENT_NOT_PENDING: "SETTLEMENT_NOT_PENDING",
  SETTLEMENT_NOT_FAILED: "SETTLEMENT_NOT_FAILED",
  SETTLEMENT_REVERSE_INSUFFICIENT: "SETTLEMENT_REVERSE_INSUFFICIENT",
} as const;
export type TradingCode = (typeof TradingCode)[keyof typeof TradingCode];
