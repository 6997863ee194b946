import type { Address } from "viem";

/** A currency as the exchange books it: integer amounts of its smallest unit. */
export type Currency = {
  currency: string; // "VND", "GOLD", "RIVER"
  fullName: string;
  decimals: number; // on-chain decimals = ledger scale
  /** The ERC-20 (CashToken / AssetToken) carrying it on chain, once deployed. */
  token?: Address;
};

/**
 * A market in integer units. Engine prices are quote smallest units per whole base unit;
 * engine quantities are base smallest units. Notional (quote smallest units) is
 * price * qty / 10^baseDecimals, which `tickSize * lotSize` keeps integral.
 */
export type Market = {
  symbol: string; // KuCoin style "BASE-QUOTE"
  name: string;
  base: string;
  quote: string;
  tickSize: number;
  lotSize: number;
  minQty: number;
  maxQty: number;
  /** Market-order protection band around the opposite best price at arrival. */
  bandBps: number;
  makerFeeBps: number;
  takerFeeBps: number;
  /** The pilot's asset class (listing/pilotRules.ts): names the holder rule behind a refusal. */
  assetClass?: string;
};
