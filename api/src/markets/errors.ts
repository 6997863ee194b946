import { CodedError } from "../errors/SenError.ts";

/** What the market catalog refuses to add (a listing turns these into TRADING_LISTING_REFUSED). */
export const CatalogCode = {
  MARKET_EXISTS: "CATALOG_MARKET_EXISTS",
  /** The base currency is known with other decimals or another token. */
  CURRENCY_CONFLICT: "CATALOG_CURRENCY_CONFLICT",
  /** Unknown currencies, or sizes that would make fractional amounts. */
  BAD_MARKET: "CATALOG_BAD_MARKET",
} as const;
export type CatalogCode = (typeof CatalogCode)[keyof typeof CatalogCode];

export class CatalogError extends CodedError<CatalogCode> {
  override name = "CatalogError" as const;
}
