import { SenError } from "../errors/SenError.ts";
import { formatUnits, parseUnits } from "../money/decimal.ts";
import type { MarketCatalog } from "./marketCatalog.ts";
import type { Market } from "./types.ts";

/**
 * Sen's integer units against the decimal strings clients send and read, per currency's
 * decimals in the catalog. Below every edge: the REST and websocket shapes, the audit trail's
 * events and the chain code all convert through it.
 */
export class MarketUnits {
  readonly catalog: MarketCatalog;

  constructor(catalog: MarketCatalog) {
    this.catalog = catalog;
  }

  decimals(currency: string): number {
    return this.catalog.currency(currency)?.decimals ?? 0;
  }

  /** Engine price units -> decimal string in the quote currency. */
  price(market: Market, units: number | bigint): string {
    return formatUnits(BigInt(units), this.decimals(market.quote));
  }

  size(market: Market, units: number | bigint): string {
    return formatUnits(BigInt(units), this.decimals(market.base));
  }

  amount(currency: string, units: bigint): string {
    return formatUnits(units, this.decimals(currency));
  }

  /** Decimal string -> integer units of `currency`, refusing excess precision and non-safe values (a VALIDATION error, as http/errors.ts's ValidationError). */
  parseAmount(field: string, text: string, currency: string, safe = true): bigint {
    const r = parseUnits(text, this.decimals(currency));
    if (!r.ok) throw new SenError("VALIDATION", `${field}: ${r.reason === "precision" ? `at most ${this.decimals(currency)} decimals for ${currency}` : "not a decimal number"}`);
    if (safe && r.value > BigInt(Number.MAX_SAFE_INTEGER)) throw new SenError("VALIDATION", `${field}: too large`);
    return r.value;
  }
}
