import type { SymbolConfig } from "../../../matching-engine/src/index.ts";
import type { Currency, Market } from "./types.ts";

/** Looks markets and currencies up by name and converts them for the engine. */
export class MarketCatalog {
  readonly currencies: ReadonlyMap<string, Currency>;
  readonly markets: ReadonlyMap<string, Market>;

  constructor(currencies: Currency[], markets: Market[]) {
    this.currencies = new Map(currencies.map((c) => [c.currency, c]));
    this.markets = new Map(markets.map((m) => [m.symbol, m]));
    for (const m of markets) {
      const base = this.currencies.get(m.base);
      if (!base || !this.currencies.has(m.quote)) throw new Error(`market ${m.symbol}: unknown currency`);
      // Notional must be a whole number of quote units for every valid price and size.
      if ((BigInt(m.tickSize) * BigInt(m.lotSize)) % 10n ** BigInt(base.decimals) !== 0n) {
        throw new Error(`market ${m.symbol}: tickSize * lotSize must be a multiple of 10^${base.decimals}`);
      }
    }
  }

  market(symbol: string): Market | undefined {
    return this.markets.get(symbol);
  }

  currency(code: string): Currency | undefined {
    return this.currencies.get(code);
  }

  /** Quote smallest units for `qty` base units at `price`. */
  notional(market: Market, price: number, qty: number): bigint {
    return (BigInt(price) * BigInt(qty)) / 10n ** BigInt(this.currencies.get(market.base)!.decimals);
  }

  engineConfig(market: Market): SymbolConfig {
    return {
      symbol: market.symbol,
      tickSize: market.tickSize,
      lotSize: market.lotSize,
      minQty: market.minQty,
      maxQty: market.maxQty,
      bandBps: market.bandBps,
      stpDefault: "cancelNewest",
    };
  }
}

/** The pilot's launch listing: two tokenised assets quoted in VND. */
export function defaultCatalog(tokens: Partial<Record<"VND" | "GOLD" | "RIVER", `0x${string}`>> = {}): MarketCatalog {
  return new MarketCatalog(
    [
      { currency: "VND", fullName: "Vietnamese đồng (Sen VND token)", decimals: 0, token: tokens.VND },
      { currency: "GOLD", fullName: "Sen Gold (1 g of gold vaulted abroad, issued outside Viet Nam)", decimals: 0, token: tokens.GOLD },
      { currency: "RIVER", fullName: "Saigon Riverside Residences (tokenised project interest)", decimals: 0, token: tokens.RIVER },
    ],
    [
      { symbol: "GOLD-VND", name: "GOLD-VND", base: "GOLD", quote: "VND", tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000, bandBps: 500, makerFeeBps: 10, takerFeeBps: 20 },
      { symbol: "RIVER-VND", name: "RIVER-VND", base: "RIVER", quote: "VND", tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000, bandBps: 500, makerFeeBps: 10, takerFeeBps: 20 },
    ],
  );
}
