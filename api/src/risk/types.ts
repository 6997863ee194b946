/**
 * The on-chain holder rules an order or a withdrawal must pass before it reaches the engine:
 * the tokens' own rules (PermissionedToken._eligible/_checkIdentity, canTransfer) evaluated on
 * the gateway's view of the chain (risk/holderRules.ts), so nothing is matched that the vault
 * would refuse to settle.
 */
export const HolderCode = {
  TOKEN_PAUSED: "RISK_TOKEN_PAUSED",
  HOLDER_FROZEN: "RISK_HOLDER_FROZEN",
  HOLDER_FROZEN_AMOUNT: "RISK_HOLDER_FROZEN_AMOUNT",
  IDENTITY_NOT_VERIFIED: "RISK_IDENTITY_NOT_VERIFIED",
  IDENTITY_REVOKED: "RISK_IDENTITY_REVOKED",
  IDENTITY_EXPIRES: "RISK_IDENTITY_EXPIRES",
  HOLDER_KYC_LEVEL: "RISK_HOLDER_KYC_LEVEL",
  HOLDER_INVESTOR_TYPE: "RISK_HOLDER_INVESTOR_TYPE",
  HOLDER_COUNTRY: "RISK_HOLDER_COUNTRY",
  HOLDER_CAP: "RISK_HOLDER_CAP",
} as const;
export type HolderCode = (typeof HolderCode)[keyof typeof HolderCode];

/** Pre-trade rule ids: every rejection names the rule that fired. */
export const RiskCode = {
  ...HolderCode,
  SYMBOL_HALTED: "RISK_SYMBOL_HALTED",
  /** The pilot's offering window: the market's offering has not opened yet. */
  OFFERING_NOT_OPEN: "RISK_OFFERING_NOT_OPEN",
  ACCOUNT_FROZEN: "RISK_ACCOUNT_FROZEN",
  PRICE_COLLAR: "RISK_PRICE_COLLAR",
  MAX_ORDER_QTY: "RISK_MAX_ORDER_QTY",
  MAX_ORDER_VALUE: "RISK_MAX_ORDER_VALUE",
  MAX_OPEN_ORDERS: "RISK_MAX_OPEN_ORDERS",
  RATE_LIMIT_KEY: "RISK_RATE_LIMIT_KEY",
  RATE_LIMIT_ACCOUNT: "RISK_RATE_LIMIT_ACCOUNT",
  INSUFFICIENT_FUNDS: "RISK_INSUFFICIENT_FUNDS",
  DUPLICATE_CLIENT_OID: "RISK_DUPLICATE_CLIENT_OID",
  BAD_TICK: "RISK_PRICE_NOT_ON_TICK",
  BAD_LOT: "RISK_SIZE_NOT_ON_LOT",
  SIZE_BELOW_MIN: "RISK_SIZE_BELOW_MIN",
  NO_REFERENCE_PRICE: "RISK_NO_REFERENCE_PRICE",
} as const;
export type RiskCode = (typeof RiskCode)[keyof typeof RiskCode];

/** A control that refused: its code and the words the trader sees. */
export type RiskRejection = { code: RiskCode; message: string };

/** Limits for one symbol and account; per-symbol and per-account overrides merge over the defaults. */
export type RiskLimits = {
  /** A limit price more than this many bps from the reference price is refused (0: off). */
  collarBps: number;
  /** In base smallest units. */
  maxOrderQty: number;
  /** In quote smallest units (decimal string so it survives JSON). */
  maxOrderValue: string;
  maxOpenOrders: number;
  /** Token bucket: burst capacity and refill per second, per API key and per account. */
  keyRate: { burst: number; perSecond: number };
  accountRate: { burst: number; perSecond: number };
};

export type RiskConfig = {
  defaults: RiskLimits;
  symbols: Record<string, Partial<RiskLimits>>;
  accounts: Record<string, Partial<RiskLimits>>;
};

export const DEFAULT_RISK: RiskConfig = {
  defaults: {
    collarBps: 1_000,
    maxOrderQty: 1_000_000,
    maxOrderValue: "100000000000", // 100 billion đồng
    maxOpenOrders: 500,
    keyRate: { burst: 200, perSecond: 100 },
    accountRate: { burst: 400, perSecond: 200 },
  },
  symbols: {},
  accounts: {},
};

export function limitsFor(config: RiskConfig, symbol: string, accountId: string): RiskLimits {
  return { ...config.defaults, ...config.symbols[symbol], ...config.accounts[accountId] };
}
