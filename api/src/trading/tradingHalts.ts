/** Halt a symbol when a trade moves the price more than bandBps from the oldest trade in the window. */
export type VolatilityRule = { windowMs: number; bandBps: number; haltMs: number };

export type MarketState = {
  lastPrice: number;
  halted: boolean;
  haltReason: string;
  haltedUntil: number; // 0 = until resumed by an operator
  window: Array<[ts: number, price: number]>;
};

/** The halts part of a trading core snapshot (see TradingCoreSnapshot for the whole). */
export type TradingHaltsSnapshot = {
  /** accountId -> the reason it was frozen. */
  frozen: Array<[string, string]>;
  markets: Array<[string, MarketState]>;
};

const BPS = 10_000n;

/**
 * Where trading is stopped, and the price that decides it: each market's last price and halt
 * (by an operator, or by the volatility rule after a trade moved the price too far), and the
 * frozen accounts (kill switch, identity sweep). Pre-trade checks read both together; both are
 * changed only through journaled records, so a replay halts and freezes at the same record.
 */
export class TradingHalts {
  readonly #markets = new Map<string, MarketState>();
  readonly #frozen = new Map<string, string>(); // accountId -> reason
  readonly #volatility?: VolatilityRule;

  constructor(symbols: Iterable<string>, volatility: VolatilityRule | undefined) {
    this.#volatility = volatility;
    for (const symbol of symbols) this.#markets.set(symbol, freshMarketState());
  }

  market(symbol: string): Readonly<MarketState> | undefined {
    return this.#markets.get(symbol);
  }

  /** Whether new orders are refused on `symbol` at time `now` (a volatility halt lapses by itself). */
  isHalted(symbol: string, now: number): boolean {
    const m = this.#markets.get(symbol);
    if (!m || !m.halted) return false;
    return m.haltedUntil === 0 || now < m.haltedUntil;
  }

  /** 0 until the market's first trade (or a listing's reference price). */
  lastPrice(symbol: string): number {
    return this.#markets.get(symbol)?.lastPrice ?? 0;
  }

  /** An operator's halt or resume; false for a market that does not exist. */
  setStatus(symbol: string, halted: boolean, reason: string, until: number | undefined): boolean {
    const m = this.#markets.get(symbol);
    if (!m) return false;
    m.halted = halted;
    m.haltReason = reason;
    m.haltedUntil = until ?? 0;
    if (!halted) m.window = [];
    return true;
  }

  /** A market new from a listing: `referencePrice` is the collar's reference until the first trade. */
  open(symbol: string, referencePrice: number): void {
    this.#markets.set(symbol, { ...freshMarketState(), lastPrice: referencePrice });
  }

  /**
   * A trade at `price`: the new last price, and the volatility rule's verdict. Returns the halt
   * reason when this trade halts the market (the caller reports it), otherwise undefined.
   */
  traded(symbol: string, price: number, ts: number): string | undefined {
    const m = this.#markets.get(symbol)!;
    m.lastPrice = price;
    const rule = this.#volatility;
    if (!rule) return undefined;
    const from = ts - rule.windowMs;
    while (m.window.length > 0 && m.window[0][0] < from) m.window.shift();
    if (m.halted && m.haltedUntil !== 0 && ts >= m.haltedUntil) {
      // The volatility halt lapsed: the band is measured afresh from here.
      m.halted = false;
      m.window = [];
    }
    const ref = m.window[0]?.[1];
    m.window.push([ts, price]);
    if (ref === undefined || m.halted) return undefined;
    if (BigInt(Math.abs(price - ref)) * BPS > BigInt(ref) * BigInt(rule.bandBps)) {
      m.halted = true;
      m.haltReason = `volatility: ${ref} -> ${price} within ${rule.windowMs} ms`;
      m.haltedUntil = ts + rule.haltMs;
      return m.haltReason;
    }
    return undefined;
  }

  isFrozen(accountId: string): string | undefined {
    return this.#frozen.get(accountId);
  }

  frozenAccounts(): ReadonlyMap<string, string> {
    return this.#frozen;
  }

  setFrozen(accountId: string, frozen: boolean, reason: string): void {
    if (frozen) this.#frozen.set(accountId, reason);
    else this.#frozen.delete(accountId);
  }

  snapshot(): TradingHaltsSnapshot {
    return {
      frozen: [...this.#frozen],
      // Copies: the state is captured now and saved later, while trades go on changing it. The
      // window's entries themselves are shared: one is made per trade and never changed, only
      // dropped from the front.
      markets: [...this.#markets].map(([s, m]) => [s, { ...m, window: m.window.slice() }]),
    };
  }

  restore(s: TradingHaltsSnapshot): void {
    for (const [a, r] of s.frozen) this.#frozen.set(a, r);
    for (const [s2, m] of s.markets) this.#markets.set(s2, m);
  }
}

function freshMarketState(): MarketState {
  return { lastPrice: 0, halted: false, haltReason: "", haltedUntil: 0, window: [] };
}
