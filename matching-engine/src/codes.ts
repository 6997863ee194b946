/**
 * The engine's one code table (codes are returned, never thrown: a refusal is an answer).
 * `ENGINE_OK` is the only success code; every other code is a rejection reason
 * (returned by `apply` and carried by a `rejected` event) or a cancellation
 * reason (carried by a `cancelled` event).
 */
export const EngineCode = {
  OK: "ENGINE_OK",
  // --- rejections (command refused, state unchanged) ---
  MALFORMED_COMMAND: "ENGINE_MALFORMED_COMMAND",
  UNKNOWN_COMMAND: "ENGINE_UNKNOWN_COMMAND",
  UNKNOWN_SYMBOL: "ENGINE_UNKNOWN_SYMBOL",
  INVALID_ID: "ENGINE_INVALID_ID",
  DUPLICATE_ID: "ENGINE_DUPLICATE_ID",
  INVALID_OWNER: "ENGINE_INVALID_OWNER",
  INVALID_SIDE: "ENGINE_INVALID_SIDE",
  INVALID_PRICE: "ENGINE_INVALID_PRICE",
  PRICE_NOT_ON_TICK: "ENGINE_PRICE_NOT_ON_TICK",
  INVALID_QTY: "ENGINE_INVALID_QTY",
  QTY_NOT_ON_LOT: "ENGINE_QTY_NOT_ON_LOT",
  QTY_BELOW_MIN: "ENGINE_QTY_BELOW_MIN",
  QTY_ABOVE_MAX: "ENGINE_QTY_ABOVE_MAX",
  INVALID_FUNDS: "ENGINE_INVALID_FUNDS",
  INVALID_TIF: "ENGINE_INVALID_TIF",
  INVALID_ICEBERG: "ENGINE_INVALID_ICEBERG",
  INVALID_STP: "ENGINE_INVALID_STP",
  INVALID_STOP_PRICE: "ENGINE_INVALID_STOP_PRICE",
  POST_ONLY_WOULD_TAKE: "ENGINE_POST_ONLY_WOULD_TAKE",
  UNKNOWN_ORDER: "ENGINE_UNKNOWN_ORDER",
  NOT_AMENDABLE: "ENGINE_NOT_AMENDABLE",
  AMEND_NO_CHANGE: "ENGINE_AMEND_NO_CHANGE",
  // --- cancellation reasons (order accepted, then (partly) removed) ---
  USER_CANCELLED: "ENGINE_USER_CANCELLED",
  CANCEL_ALL: "ENGINE_CANCEL_ALL",
  IOC_REMAINDER: "ENGINE_IOC_REMAINDER",
  FOK_NOT_FILLED: "ENGINE_FOK_NOT_FILLED",
  MARKET_NO_LIQUIDITY: "ENGINE_MARKET_NO_LIQUIDITY",
  MARKET_PRICE_BAND: "ENGINE_MARKET_PRICE_BAND",
  STP_CANCEL_NEWEST: "ENGINE_STP_CANCEL_NEWEST",
  STP_CANCEL_OLDEST: "ENGINE_STP_CANCEL_OLDEST",
  STP_CANCEL_BOTH: "ENGINE_STP_CANCEL_BOTH",
  STP_DECREMENT: "ENGINE_STP_DECREMENT",
} as const;

export type EngineCode = (typeof EngineCode)[keyof typeof EngineCode];

/**
 * Not a refusal (those are EngineCodes, returned): a broken invariant inside the engine's own
 * code, which no command can cause. Thrown, with a code a caller can log and a test can match.
 */
export const EngineFaultCode = {
  /** An event kind a path was written never to see (e.g. byte replay meeting an amend). */
  UNEXPECTED_EVENT: "ENGINE_FAULT_UNEXPECTED_EVENT",
} as const;
export type EngineFaultCode = (typeof EngineFaultCode)[keyof typeof EngineFaultCode];

export class EngineFault extends Error {
  override name = "EngineFault" as const;
  readonly code: EngineFaultCode;

  constructor(code: EngineFaultCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Largest price, quantity or funds value the engine accepts (2^53 - 1). */
export const MAX_VALUE = Number.MAX_SAFE_INTEGER;
