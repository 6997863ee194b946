import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { MarketUnits } from "../markets/marketUnits.ts";
import type { MarketData } from "./marketData.ts";

/**
 * KuCoin's ticker payloads, built once for both edges: the REST market routes and the
 * websocket topics send the same objects.
 */
export type TickerSources = { catalog: MarketCatalog; format: MarketUnits; marketData: MarketData; now: () => number };

/** KuCoin level 1: REST `/api/v1/market/orderbook/level1` and the `trade.ticker` data of `/market/ticker:SYM|all` (best bid/ask, last trade, the book's sequence). */
export function level1Data(ctx: TickerSources, symbol: string) {
  const m = ctx.catalog.market(symbol)!;
  const f = ctx.format;
  const best = ctx.marketData.best(symbol);
  const last = ctx.marketData.lastTrade(symbol);
  return {
    sequence: String(best.sequence),
    price: last ? f.price(m, last.price) : null,
    size: last ? f.size(m, last.size) : null,
    bestBid: best.bid ? f.price(m, best.bid[0]) : null,
    bestBidSize: best.bid ? f.size(m, best.bid[1]) : null,
    bestAsk: best.ask ? f.price(m, best.ask[0]) : null,
    bestAskSize: best.ask ? f.size(m, best.ask[1]) : null,
    time: ctx.now(),
  };
}

/**
 * KuCoin's 24-hour statistics of a symbol, formatted once for REST `/market/stats` and
 * `/market/allTickers` and the websocket `/market/snapshot:SYM` (which renames `last`).
 */
export function stats24hData(ctx: Omit<TickerSources, "now">, symbol: string, now: number) {
  const m = ctx.catalog.market(symbol)!;
  const f = ctx.format;
  const s = ctx.marketData.stats24h(symbol, now);
  const best = ctx.marketData.best(symbol);
  const change = s.open === 0 ? 0 : s.last - s.open;
  return {
    buy: best.bid ? f.price(m, best.bid[0]) : null,
    bestBidSize: best.bid ? f.size(m, best.bid[1]) : null,
    sell: best.ask ? f.price(m, best.ask[0]) : null,
    bestAskSize: best.ask ? f.size(m, best.ask[1]) : null,
    changeRate: s.open === 0 ? "0" : (change / s.open).toFixed(4), // display ratio, not money
    changePrice: f.price(m, BigInt(change)),
    open: f.price(m, s.open),
    high: f.price(m, s.high),
    low: f.price(m, s.low),
    last: f.price(m, s.last),
    vol: f.size(m, s.vol),
    volValue: f.amount(m.quote, s.volValue),
  };
}
