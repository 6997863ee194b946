import type { TradingEvent } from "../trading/events.ts";
import type { SnapshotPart } from "../trading/tradingService.ts";

export type PublicTrade = { sequence: number; tradeId: string; price: number; size: number; side: "buy" | "sell"; time: number };
const MINUTE = 60_000;
// Only the rolling 24 h statistics read these (the candle history is in CandleStore): a day and an hour.
const KEEP_MINUTES = 60 * 25;
const KEEP_TRADES = 1_000;

type SymbolData = {
  trades: PublicTrade[];
  minutes: Map<number, { o: number; c: number; h: number; l: number; v: number; t: bigint }>;
  bids: Map<number, number>;
  asks: Map<number, number>;
  l2Seq: number;
  lastPrice: number;
  /** Best bid and ask price, kept as levels change; undefined: to be found again (the best level went). */
  bestBid?: number | null;
  bestAsk?: number | null;
};

/**
 * Public market data, kept as a state listener of the trading core (so it is snapshotted at
 * exactly the journal sequence of the core's snapshot): an L2 mirror of each book with
 * its own gap-free sequence (REST snapshot and websocket deltas share it), recent trades,
 * and one-minute figures for the 24-hour statistics (candles: see candleStore.ts).
 */
export class MarketData implements SnapshotPart {
  readonly name = "marketData";
  readonly #symbols = new Map<string, SymbolData>();
  readonly #quoteDecimalsDivisor: (symbol: string) => bigint;

  constructor(symbols: Iterable<string>, notionalDivisor: (symbol: string) => bigint) {
    for (const s of symbols) this.#symbols.set(s, emptySymbol());
    this.#quoteDecimalsDivisor = notionalDivisor;
  }

  readonly handle = (e: TradingEvent): void => {
    if (e.kind === "listed") {
      if (!this.#symbols.has(e.listing.symbol)) this.#symbols.set(e.listing.symbol, emptySymbol());
    } else if (e.kind === "l2") {
      const d = this.#symbols.get(e.symbol);
      if (!d) return;
      const book = e.side === "buy" ? d.bids : d.asks;
      if (e.size === 0) book.delete(e.price);
      else book.set(e.price, e.size);
      if (e.side === "buy") d.bestBid = bestAfter(d.bestBid, e.price, e.size, -1);
      else d.bestAsk = bestAfter(d.bestAsk, e.price, e.size, 1);
      e.sequence = ++d.l2Seq;
    } else if (e.kind === "trade") {
      const d = this.#symbols.get(e.symbol);
      if (!d) return;
      const trade: PublicTrade = { sequence: e.sequence, tradeId: e.tradeId, price: e.price, size: e.size, side: e.side, time: e.ts };
      d.trades.push(trade);
      // One in, one out: shift() moves the array's start (V8 trims it in place); splice(0, 1)
      // copied the 1,000 entries left and allocated the removed one's array, ~4 µs per trade.
      if (d.trades.length === KEEP_TRADES + 1) d.trades.shift();
      else if (d.trades.length > KEEP_TRADES) d.trades.splice(0, d.trades.length - KEEP_TRADES);
      d.lastPrice = e.price;
      const minute = Math.floor(e.ts / MINUTE) * MINUTE;
      const turnover = (BigInt(e.price) * BigInt(e.size)) / this.#quoteDecimalsDivisor(e.symbol);
      const c = d.minutes.get(minute);
      if (c) {
        c.c = e.price;
        c.h = Math.max(c.h, e.price);
        c.l = Math.min(c.l, e.price);
        c.v += e.size;
        c.t += turnover;
      } else {
        d.minutes.set(minute, { o: e.price, c: e.price, h: e.price, l: e.price, v: e.size, t: turnover });
        const oldest = minute - KEEP_MINUTES * MINUTE;
        for (const k of d.minutes.keys()) {
          if (k >= oldest) break;
          d.minutes.delete(k);
        }
      }
    }
  };

  /** Full-depth (or `depth`) aggregated book and the sequence it is at. */
  level2(symbol: string, depth = Number.POSITIVE_INFINITY): { sequence: number; bids: Array<[number, number]>; asks: Array<[number, number]> } | null {
    const d = this.#symbols.get(symbol);
    if (!d) return null;
    return { sequence: d.l2Seq, bids: topLevels(d.bids, depth, -1), asks: topLevels(d.asks, depth, 1) };
  }

  best(symbol: string): { bid: [number, number] | null; ask: [number, number] | null; sequence: number } {
    const d = this.#symbols.get(symbol);
    if (!d) return { bid: null, ask: null, sequence: 0 };
    // Read several times per ticker tick (ticker, level1, ticker:all): a scan only after the best level went.
    if (d.bestBid === undefined) d.bestBid = extreme(d.bids, -1);
    if (d.bestAsk === undefined) d.bestAsk = extreme(d.asks, 1);
    const bid: [number, number] | null = d.bestBid === null ? null : [d.bestBid, d.bids.get(d.bestBid)!];
    const ask: [number, number] | null = d.bestAsk === null ? null : [d.bestAsk, d.asks.get(d.bestAsk)!];
    return { bid, ask, sequence: d.l2Seq };
  }

  trades(symbol: string, limit = 100): PublicTrade[] {
    const d = this.#symbols.get(symbol);
    return d ? d.trades.slice(-limit).reverse() : [];
  }

  lastTrade(symbol: string): PublicTrade | undefined {
    const d = this.#symbols.get(symbol);
    return d?.trades[d.trades.length - 1];
  }

  /** Rolling 24-hour statistics from the one-minute candles. */
  stats24h(symbol: string, now: number) {
    const d = this.#symbols.get(symbol);
    const from = now - 86_400_000;
    let open = 0;
    let openAt = Number.POSITIVE_INFINITY;
    let high = 0;
    let low = 0;
    let vol = 0;
    let volValue = 0n;
    for (const [minute, c] of d?.minutes ?? []) {
      if (minute < from - MINUTE) continue;
      if (minute < openAt) {
        openAt = minute;
        open = c.o;
      }
      high = Math.max(high, c.h);
      low = low === 0 ? c.l : Math.min(low, c.l);
      vol += c.v;
      volValue += c.t;
    }
    const last = d?.lastPrice ?? 0;
    return { open, high, low, last, vol, volValue };
  }

  snapshot(): unknown {
    return [...this.#symbols].map(([s, d]) => ({
      symbol: s,
      trades: d.trades,
      minutes: [...d.minutes].map(([m, c]) => [m, c.o, c.c, c.h, c.l, c.v, c.t.toString()]),
      bids: [...d.bids],
      asks: [...d.asks],
      l2Seq: d.l2Seq,
      lastPrice: d.lastPrice,
    }));
  }

  restore(state: unknown): void {
    type Saved = { symbol: string; trades: PublicTrade[]; minutes: Array<[number, number, number, number, number, number, string]>; bids: Array<[number, number]>; asks: Array<[number, number]>; l2Seq: number; lastPrice: number };
    for (const s of state as Saved[]) {
      this.#symbols.set(s.symbol, {
        trades: s.trades,
        minutes: new Map(s.minutes.map(([m, o, c, h, l, v, t]) => [m, { o, c, h, l, v, t: BigInt(t) }])),
        bids: new Map(s.bids),
        asks: new Map(s.asks),
        l2Seq: s.l2Seq,
        lastPrice: s.lastPrice,
      });
    }
  }
}

/**
 * The best `depth` levels, best first (`dir` 1: lowest price first, -1: highest). A bounded
 * depth (the websocket's 5/50 levels, ten times a second) is one pass over the book keeping the
 * best few, not a sort of every level.
 */
function topLevels(levels: Map<number, number>, depth: number, dir: 1 | -1): Array<[number, number]> {
  if (depth >= levels.size) return [...levels].sort((a, b) => dir * (a[0] - b[0]));
  const out: Array<[number, number]> = [];
  if (depth <= 0) return out;
  for (const level of levels) {
    const key = dir * level[0];
    if (out.length === depth && key >= dir * out[depth - 1][0]) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (dir * out[mid][0] < key) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, level);
    if (out.length > depth) out.pop();
  }
  return out;
}

/** A side's best price once level `price` is `size` (`dir` 1: asks, -1: bids); undefined: the best went, scan when read. */
function bestAfter(best: number | null | undefined, price: number, size: number, dir: 1 | -1): number | null | undefined {
  if (size === 0) return price === best ? undefined : best;
  if (best === null || (best !== undefined && dir * price < dir * best)) return price;
  return best;
}

/** Lowest (`dir` 1) or highest (-1) price of a side, null when empty. */
function extreme(levels: Map<number, number>, dir: 1 | -1): number | null {
  let best: number | null = null;
  for (const p of levels.keys()) if (best === null || dir * p < dir * best) best = p;
  return best;
}

function emptySymbol(): SymbolData {
  return { trades: [], minutes: new Map(), bids: new Map(), asks: new Map(), l2Seq: 0, lastPrice: 0 };
}
