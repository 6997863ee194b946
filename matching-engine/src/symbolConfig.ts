import type { StpMode } from "./command.ts";

/** Per-symbol trading rules. All values are safe integers in price/qty units. */
export interface SymbolConfig {
  symbol: string;
  /** Prices must be multiples of tickSize. Default 1. */
  tickSize?: number;
  /** Quantities must be multiples of lotSize. Default 1. */
  lotSize?: number;
  /** Default lotSize. */
  minQty?: number;
  /** Default Number.MAX_SAFE_INTEGER. */
  maxQty?: number;
  /**
   * Market protection: a market order (and a triggered stop-market) does not
   * trade more than `bandTicks` price units, or `bandBps` basis points, away
   * from the opposite best price at its arrival (the tighter of the two if
   * both are set). Unset = no band.
   */
  bandTicks?: number;
  bandBps?: number;
  /** STP mode used when an order does not name one. Default "cancelNewest". */
  stpDefault?: StpMode;
}

export type ResolvedSymbolConfig = Required<Omit<SymbolConfig, "bandTicks" | "bandBps">> & {
  bandTicks: number | null;
  bandBps: number | null;
};

export function resolveSymbolConfig(c: SymbolConfig): ResolvedSymbolConfig {
  const lot = c.lotSize ?? 1;
  return {
    symbol: c.symbol,
    tickSize: c.tickSize ?? 1,
    lotSize: lot,
    minQty: c.minQty ?? lot,
    maxQty: c.maxQty ?? Number.MAX_SAFE_INTEGER,
    bandTicks: c.bandTicks ?? null,
    bandBps: c.bandBps ?? null,
    stpDefault: c.stpDefault ?? "cancelNewest",
  };
}
