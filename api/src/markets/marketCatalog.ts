import type { SymbolConfig } from "../../../matching-engine/src/index.ts";
import type { Currency, Market } from "./types.ts";
import { CatalogCode, CatalogError } from "./errors.ts";

/** Looks markets and currencies up by name and converts them for the engine. */
export class MarketCatalog {
  readonly #currencies: Map<string, Currency>;
  readonly #markets: Map<string, Market>;

  constructor(currencies: Currency[], markets: Market[]) {
    this.#currencies = new Map(currencies.map((c) => [c.currency, c]));
    this.#markets = new Map();
    for (const m of markets) this.#addMarket(m);
  }

  get currencies(): ReadonlyMap<string, Currency> {
    return this.#currencies;
  }

  get markets(): ReadonlyMap<string, Market> {
    return this.#markets;
  }

  /**
   * Adds a listed asset and its market (the listing flow, journaled). Throws when the market
   * exists, its quote is unknown, or its base is known with other properties.
   */
  add(currency: Currency, market: Market): void {
    if (this.#markets.has(market.symbol)) throw new CatalogError(CatalogCode.MARKET_EXISTS, `market ${market.symbol} exists`);
    const known = this.#currencies.get(currency.currency);
    if (known && (known.decimals !== currency.decimals || known.token?.toLowerCase() !== currency.token?.toLowerCase())) {
      throw new CatalogError(CatalogCode.CURRENCY_CONFLICT, `currency ${currency.currency} exists with other decimals or token`);
    }
    const added = !known;
    if (added) this.#currencies.set(currency.currency, currency);
    try {
      this.#addMarket(market);
    } catch (err) {
      if (added) this.#currencies.delete(currency.currency);
      throw err;
    }
  }

  /** Whether `add` would accept the market (same checks, nothing changed). */
  check(currency: Currency, market: Market): string | null {
    const probe = new MarketCatalog([...this.#currencies.values()], [...this.#markets.values()]);
    try {
      probe.add(currency, market);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }

  #addMarket(m: Market): void {
    const base = this.#currencies.get(m.base);
    if (!base || !this.#currencies.has(m.quote)) throw new CatalogError(CatalogCode.BAD_MARKET, `market ${m.symbol}: unknown currency`);
    // Notional must be a whole number of quote units for every valid price and size.
    if ((BigInt(m.tickSize) * BigInt(m.lotSize)) % 10n ** BigInt(base.decimals) !== 0n) {
      throw new CatalogError(CatalogCode.BAD_MARKET, `market ${m.symbol}: tickSize * lotSize must be a multiple of 10^${base.decimals}`);
    }
    if (m.minQty > m.maxQty || m.minQty % m.lotSize !== 0) throw new CatalogError(CatalogCode.BAD_MARKET, `market ${m.symbol}: minQty must be a multiple of lotSize and at most maxQty`);
    this.#markets.set(m.symbol, m);
  }

  market(symbol: string): Market | undefined {
    return this.markets.get(symbol);
  }

  currency(code: string): Currency | undefined {
    return this.currencies.get(code);
  }

  /** Quote smallest units for `qty` base units at `price`. */
  notional(market: Market, price: number, qty: number): bigint {
    return (BigInt(price) * BigInt(qty)) / this.notionalScale(market);
  }

  /** What price x qty is divided by to give the quote amount: 10^(the base's decimals). */
  notionalScale(market: Market): bigint {
    return 10n ** BigInt(this.currencies.get(market.base)!.decimals);
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

/**
 * A fixed catalog of the two demo assets quoted in VND, for tests and tools that run without the
 * listing flow: GOLD, a gold token issued abroad (another crypto-asset), and RIVER, a tokenised
 * interest in a Vietnamese real-estate project (foreign investors only). `npm start` lists them
 * through the listing flow instead (listing/launchListings.ts).
 */
export function defaultCatalog(tokens: Partial<Record<"VND" | "GOLD" | "RIVER", `0x${string}`>> = {}): MarketCatalog {
  return new MarketCatalog(
    [
      { currency: "VND", fullName: "Vietnamese đồng (Sen VND token)", decimals: 0, token: tokens.VND },
      { currency: "GOLD", fullName: "Sen Gold (1 g of gold vaulted abroad, issued outside Viet Nam)", decimals: 0, token: tokens.GOLD },
      { currency: "RIVER", fullName: "Saigon Riverside Residences (tokenised project interest)", decimals: 0, token: tokens.RIVER },
    ],
    [
      { symbol: "GOLD-VND", name: "GOLD-VND", base: "GOLD", quote: "VND", tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000, bandBps: 500, makerFeeBps: 10, takerFeeBps: 20, assetClass: "crypto-asset" },
      { symbol: "RIVER-VND", name: "RIVER-VND", base: "RIVER", quote: "VND", tickSize: 100, lotSize: 1, minQty: 1, maxQty: 1_000_000, bandBps: 500, makerFeeBps: 10, takerFeeBps: 20, assetClass: "vn-tokenised-real-asset" },
    ],
  );
}
