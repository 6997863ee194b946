import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import { limitsFor } from "../../risk/types.ts";
import { healthOf } from "../health.ts";
import { CANDLE_TYPES, MAX_CANDLES } from "../../marketdata/candleStore.ts";
import { SenError } from "../../errors/SenError.ts";
import { level1Data, stats24hData } from "../../marketdata/kucoinTickers.ts";
import { defineRoute, symbolParam, type Route } from "../route.ts";

const bySymbol = z.object({ symbol: symbolParam });

/** Public market data (KuCoin spot routes), plus the stubs ccxt's loadMarkets insists on. */
export function marketRoutes(ctx: AppContext): Route[] {
  const { catalog, marketData, format } = ctx;
  const market = (symbol: string) => {
    const m = catalog.market(symbol);
    if (!m) throw new SenError("TRADING_UNKNOWN_SYMBOL", `unknown symbol ${symbol}`);
    return m;
  };
  const ticker = (symbol: string) => {
    const m = market(symbol);
    const now = ctx.now();
    const stats = stats24hData(ctx, symbol, now);
    return {
      symbol,
      symbolName: symbol,
      time: now,
      ...stats,
      averagePrice: stats.last,
      takerFeeRate: (m.takerFeeBps / 10_000).toString(),
      makerFeeRate: (m.makerFeeBps / 10_000).toString(),
      takerCoefficient: "1",
      makerCoefficient: "1",
    };
  };
  const book = (symbol: string, depth?: number) => {
    const m = market(symbol);
    const l2 = marketData.level2(symbol, depth)!;
    return {
      sequence: String(l2.sequence),
      time: ctx.now(),
      bids: l2.bids.map(([p, q]) => [format.price(m, p), format.size(m, q)]),
      asks: l2.asks.map(([p, q]) => [format.price(m, p), format.size(m, q)]),
    };
  };

  return [
    defineRoute({ method: "get", path: "/api/v1/timestamp", tag: "market", summary: "Server time (ms)", auth: "public", whileHalted: true, handler: () => ctx.now() }),
    defineRoute({ method: "get", path: "/api/v1/status", tag: "market", summary: "Service status", auth: "public", whileHalted: true, handler: () => {
        // KuCoin's values: open, close, cancelonly (a failed audit log refuses new orders, not cancels).
        const h = healthOf(ctx);
        const status = h.status === "failed" ? "close" : h.audit === "failed" ? "cancelonly" : "open";
        const msg = [h.journal === "failed" && "journal failed", h.haltReason !== undefined && `trading halted: ${h.haltReason}`, h.audit === "failed" && "audit trail failed", h.chain === "degraded" && "chain not answering: deposits, withdrawals and settlement delayed"].filter(Boolean).join("; ");
        return { status, msg };
      } }),
    defineRoute({
      method: "get",
      path: "/api/v3/currencies",
      tag: "market",
      summary: "Currencies",
      auth: "public",
      handler: () =>
        [...catalog.currencies.values()].map((c) => ({
          currency: c.currency,
          name: c.currency,
          fullName: c.fullName,
          precision: c.decimals,
          confirms: null,
          contractAddress: c.token ?? null,
          isMarginEnabled: false,
          isDebitEnabled: false,
          chains: [],
        })),
    }),
    defineRoute({
      method: "get",
      path: "/api/v2/symbols",
      tag: "market",
      summary: "Symbols with their increments and limits",
      auth: "public",
      handler: () => [...catalog.markets.values()].map((m) => format.symbol(m, !ctx.queries.isHalted(m.symbol, ctx.now()), limitsFor(ctx.trading.risk, m.symbol, ""))),
    }),
    defineRoute({ method: "get", path: "/api/v1/market/allTickers", tag: "market", summary: "All tickers", auth: "public", handler: () => ({ time: ctx.now(), ticker: [...catalog.markets.keys()].map(ticker) }) }),
    defineRoute({ method: "get", path: "/api/v1/market/stats", tag: "market", summary: "24h statistics of one symbol", auth: "public", query: bySymbol, handler: ({ query }) => ticker(query.symbol) }),
    defineRoute({
      method: "get",
      path: "/api/v1/market/orderbook/level1",
      tag: "market",
      summary: "Best bid/ask and last trade",
      auth: "public",
      query: bySymbol,
      handler: ({ query }) => {
        market(query.symbol);
        return level1Data(ctx, query.symbol);
      },
    }),
    defineRoute({ method: "get", path: "/api/v1/market/orderbook/level2_20", tag: "market", summary: "Order book, 20 levels", auth: "public", query: bySymbol, handler: ({ query }) => book(query.symbol, 20) }),
    defineRoute({ method: "get", path: "/api/v1/market/orderbook/level2_100", tag: "market", summary: "Order book, 100 levels", auth: "public", query: bySymbol, handler: ({ query }) => book(query.symbol, 100) }),
    defineRoute({
      method: "get",
      path: "/api/v3/market/orderbook/level2",
      tag: "market",
      summary: "Full-depth order book (sequence shared with the websocket level2 deltas)",
      auth: "signedOrSession",
      query: bySymbol,
      handler: ({ query }) => book(query.symbol),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/market/histories",
      tag: "market",
      summary: "Recent trades",
      auth: "public",
      query: bySymbol,
      handler: ({ query }) => {
        const m = market(query.symbol);
        return marketData.trades(query.symbol, 100).map((t) => ({
          sequence: String(t.sequence),
          tradeId: t.tradeId,
          price: format.price(m, t.price),
          size: format.size(m, t.size),
          side: t.side,
          time: (BigInt(t.time) * 1_000_000n).toString(), // KuCoin: nanoseconds
        }));
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/market/candles",
      tag: "market",
      summary: "Candles for the life of the market (times in seconds, KuCoin column order t,o,c,h,l,v,turnover; at most 1,500, newest first)",
      auth: "public",
      query: z.object({
        symbol: symbolParam,
        type: z.enum(CANDLE_TYPES),
        startAt: z.coerce.number().int().nonnegative().optional(),
        endAt: z.coerce.number().int().nonnegative().optional(),
      }),
      handler: ({ query }) => {
        const m = market(query.symbol);
        const endMs = query.endAt === undefined || query.endAt === 0 ? ctx.now() : query.endAt * 1000;
        // KuCoin: at most 1,500 candles; from startAt forward when it is given (paging), else the latest before endAt.
        const rows =
          query.startAt === undefined || query.startAt === 0
            ? ctx.candles.candles(query.symbol, query.type, 0, endMs, MAX_CANDLES, "last")
            : ctx.candles.candles(query.symbol, query.type, query.startAt * 1000, endMs, MAX_CANDLES, "first");
        return rows.reverse().map(([t, o, c, h, l, v, turnover]) => [
          String(t / 1000),
          format.price(m, o),
          format.price(m, c),
          format.price(m, h),
          format.price(m, l),
          format.size(m, v),
          format.amount(m.quote, turnover),
        ]);
      },
    }),
    // ccxt's loadMarkets calls these; Sen has no margin, futures, HF or unified accounts.
    defineRoute({ method: "get", path: "/api/v3/margin/symbols", tag: "compat", summary: "No margin markets", auth: "public", handler: () => ({ timestamp: ctx.now(), items: [] }) }),
    defineRoute({ method: "get", path: "/api/v1/isolated/symbols", tag: "compat", summary: "No isolated margin", auth: "public", handler: () => [] }),
    defineRoute({ method: "get", path: "/api/v1/hf/accounts/opened", tag: "compat", summary: "Classic (non-HF) account", auth: "public", handler: () => false }),
    defineRoute({ method: "get", path: "/api/ua/v1/account/mode", tag: "compat", summary: "Classic account mode", auth: "public", handler: () => ({ selfAccountMode: "CLASSIC" }) }),
    defineRoute({ method: "get", path: "/api/v1/contracts/active", tag: "compat", summary: "No futures", auth: "public", handler: () => [] }),
  ];
}
