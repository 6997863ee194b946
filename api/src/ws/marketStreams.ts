import { level1Data, type TickerSources } from "../marketdata/kucoinTickers.ts";
import { CANDLE_TYPES, bucketStart, type Candle, type CandleStore, type CandleType } from "../marketdata/candleStore.ts";
import type { Logger } from "../observability/logger.ts";

/**
 * KuCoin's public market-data topics beyond level2/match/ticker/snapshot, as ccxt pro 4.5.84
 * parses them (pro/kucoin.js):
 * - `/market/candles:SYM_TYPE` (watchOHLCV): subject `trade.candles.update`, data
 *   `{symbol, candles:[t_s,o,c,h,l,v,turnover], time:ns}`; KuCoin also sends `trade.candles.add`
 *   when a candle starts, which ccxt ignores, so the new candle's first state also goes out as
 *   an update.
 * - `/spotMarket/level2Depth5:SYM`, `/spotMarket/level2Depth50:SYM` (watchOrderBook with limit
 *   5/50): subject `level2`, the whole top of book each time `{asks, bids, timestamp}`.
 * - `/spotMarket/level1:SYM` (watchBidsAsks): subject `level1`, `{asks:[p,s], bids:[p,s], timestamp}`.
 * - `/market/ticker:all` (watchTickers with no symbols): subject = the symbol id, data as `trade.ticker`.
 * Updates go out on the gateway's 100 ms ticker timer for the symbols that changed (one
 * message per topic per tick, encoded once for all subscribers); snapshot-like topics also
 * get one message right after the subscription's ack, so a quiet market answers at once.
 */
export const STREAM_PREFIXES = ["/market/candles:", "/spotMarket/level2Depth5:", "/spotMarket/level2Depth50:", "/spotMarket/level1:"] as const;
export const TICKER_ALL = "/market/ticker:all";
const LEVEL2 = "/market/level2:";

/**
 * Empty level2 messages sent after a `/market/level2` subscription's ack. ccxt pro buffers
 * deltas and fetches its REST snapshot only when the 6th arrives (`snapshotDelay` 5, then
 * `cacheLength === snapshotDelay`), so on a quiet book it never resolved. Each primer is the
 * empty range [S+1, S] where S is the last sequence already sent: the rule "each message starts
 * one after the previous one's end" holds before, between and after them, and ccxt drops them
 * once it has a snapshot at S or later (it keeps only deltas ending after the snapshot).
 */
export const LEVEL2_PRIMERS = 6;

type Io = { has(topic: string): boolean; fanout(topic: string, text: string): void };
/** What MarketStreams reads: the books, the candles and the clock (the gateway passes its own dependencies). */
export type MarketStreamSources = TickerSources & { candles: Pick<CandleStore, "candleAt">; logger?: Pick<Logger, "error"> };

export class MarketStreams {
  readonly #ctx: MarketStreamSources;
  readonly #io: Io;
  /**
   * Times of each symbol's earliest and latest trade since the last tick: the candles between
   * them are due (a tick across a candle boundary also closes the earlier candle).
   */
  readonly #tradedAt = new Map<string, { first: number; last: number }>();
  /** Start of the candle last sent on each candles topic (a new one is announced with `trade.candles.add`). */
  readonly #candleSent = new Map<string, number>();
  readonly #level1Sent = new Map<string, string>();

  constructor(ctx: MarketStreamSources, io: Io) {
    this.#ctx = ctx;
    this.#io = io;
  }

  /** Per-symbol topics for one of these topics, "topic not found", or undefined when not one of them. */
  expand(topic: string): string[] | "topic not found" | undefined {
    if (topic === TICKER_ALL) return [TICKER_ALL];
    const prefix = STREAM_PREFIXES.find((p) => topic.startsWith(p));
    if (!prefix) return undefined;
    const items = topic.slice(prefix.length).split(",");
    if (items.length > 100) return "topic not found";
    for (const item of items) {
      const [symbol, type] = prefix === "/market/candles:" ? splitCandleTopic(item) : [item, undefined];
      if (!this.#ctx.catalog.market(symbol)) return "topic not found";
      if (prefix === "/market/candles:" && !(CANDLE_TYPES as readonly string[]).includes(type ?? "")) return "topic not found";
    }
    return items.map((i) => prefix + i);
  }

  /** What a new subscriber of `topic` gets right after the ack. `l2SentSeq(symbol)`: the last level2 sequence already sent. */
  initial(topic: string, l2SentSeq: (symbol: string) => number): string[] {
    if (topic.startsWith(LEVEL2)) {
      const symbol = topic.slice(LEVEL2.length);
      const s = l2SentSeq(symbol);
      const text = JSON.stringify({ type: "message", topic, subject: "trade.l2update", data: { sequenceStart: s + 1, sequenceEnd: s, symbol, time: this.#ctx.now(), changes: { asks: [], bids: [] } } });
      return Array.from({ length: LEVEL2_PRIMERS }, () => text);
    }
    if (topic.startsWith("/spotMarket/level2Depth")) return [this.#depth(topic)];
    if (topic.startsWith("/spotMarket/level1:")) return [this.#level1(topic.slice("/spotMarket/level1:".length)).text];
    if (topic.startsWith("/market/candles:")) {
      const [symbol, type] = splitCandleTopic(topic.slice("/market/candles:".length));
      // Not remembered as sent: the topic's other subscribers still get the `trade.candles.add`.
      const c = this.#ctx.candles.candleAt(symbol, type as CandleType, this.#ctx.now());
      return c ? [this.#candleText(topic, symbol, c, "trade.candles.update")] : [];
    }
    return [];
  }

  traded(symbol: string, ts: number): void {
    const t = this.#tradedAt.get(symbol);
    if (!t) this.#tradedAt.set(symbol, { first: ts, last: ts });
    else {
      t.first = Math.min(t.first, ts);
      t.last = Math.max(t.last, ts);
    }
  }

  /** Called on the ticker timer for each symbol whose book or trades changed. */
  publish(symbol: string): void {
    const d5 = `/spotMarket/level2Depth5:${symbol}`;
    const d50 = `/spotMarket/level2Depth50:${symbol}`;
    if (this.#io.has(d5) || this.#io.has(d50)) {
      // One pass over the book per tick for both depths, whatever the number of subscribers.
      const top = this.#ctx.marketData.level2(symbol, 50)!;
      if (this.#io.has(d5)) this.#io.fanout(d5, this.#depthText(d5, symbol, top, 5));
      if (this.#io.has(d50)) this.#io.fanout(d50, this.#depthText(d50, symbol, top, 50));
    }
    const l1 = `/spotMarket/level1:${symbol}`;
    if (this.#io.has(l1)) {
      const { key, text } = this.#level1(symbol);
      if (this.#level1Sent.get(symbol) !== key) {
        this.#level1Sent.set(symbol, key);
        this.#io.fanout(l1, text);
      }
    }
    if (this.#io.has(TICKER_ALL)) this.#io.fanout(TICKER_ALL, JSON.stringify({ type: "message", topic: TICKER_ALL, subject: symbol, data: level1Data(this.#ctx, symbol) }));
    const at = this.#tradedAt.get(symbol);
    if (at === undefined) return;
    this.#tradedAt.delete(symbol);
    for (const type of CANDLE_TYPES) {
      const topic = `/market/candles:${symbol}_${type}`;
      if (!this.#io.has(topic)) continue;
      try {
        // The candle the tick's first trade fell in gets its final state before the next one opens.
        const first = this.#ctx.candles.candleAt(symbol, type, at.first);
        const last = first && first[0] === bucketStart(type, at.last) ? first : this.#ctx.candles.candleAt(symbol, type, at.last);
        for (const c of first && last && first !== last ? [first, last] : [last ?? first]) {
          if (!c) continue;
          if (this.#candleSent.get(topic) !== c[0]) {
            this.#candleSent.set(topic, c[0]);
            this.#io.fanout(topic, this.#candleText(topic, symbol, c, "trade.candles.add"));
          }
          this.#io.fanout(topic, this.#candleText(topic, symbol, c, "trade.candles.update"));
        }
      } catch (err) {
        // Runs on the gateway's timer: a failed read must not take the process down.
        this.#ctx.logger?.error({ err, topic }, "candles topic: read failed");
      }
    }
  }

  #candleText(topic: string, symbol: string, c: Candle, subject: string): string {
    const m = this.#ctx.catalog.market(symbol)!;
    const f = this.#ctx.format;
    const [t, o, close, h, l, v, turnover] = c;
    const candles = [String(t / 1000), f.price(m, o), f.price(m, close), f.price(m, h), f.price(m, l), f.size(m, v), f.amount(m.quote, turnover)];
    return JSON.stringify({ type: "message", topic, subject, data: { symbol, candles, time: (BigInt(this.#ctx.now()) * 1_000_000n).toString() } });
  }

  #depth(topic: string): string {
    const [channel, symbol] = topic.split(":");
    const n = channel.endsWith("Depth5") ? 5 : 50;
    return this.#depthText(topic, symbol, this.#ctx.marketData.level2(symbol, n)!, n);
  }

  #depthText(topic: string, symbol: string, l2: { bids: Array<[number, number]>; asks: Array<[number, number]> }, n: number): string {
    const m = this.#ctx.catalog.market(symbol)!;
    const f = this.#ctx.format;
    const side = (levels: Array<[number, number]>) => levels.slice(0, n).map(([p, q]) => [f.price(m, p), f.size(m, q)]);
    return JSON.stringify({ type: "message", topic, subject: "level2", data: { asks: side(l2.asks), bids: side(l2.bids), timestamp: this.#ctx.now() } });
  }

  #level1(symbol: string): { key: string; text: string } {
    const m = this.#ctx.catalog.market(symbol)!;
    const f = this.#ctx.format;
    const best = this.#ctx.marketData.best(symbol);
    const asks = best.ask ? [f.price(m, best.ask[0]), f.size(m, best.ask[1])] : [];
    const bids = best.bid ? [f.price(m, best.bid[0]), f.size(m, best.bid[1])] : [];
    const key = JSON.stringify([asks, bids]);
    return { key, text: JSON.stringify({ type: "message", topic: `/spotMarket/level1:${symbol}`, subject: "level1", data: { asks, bids, timestamp: this.#ctx.now() } }) };
  }
}

/** "GOLD-VND_1min" → ["GOLD-VND", "1min"] (symbol ids hold no "_"). */
function splitCandleTopic(item: string): [string, string | undefined] {
  const i = item.lastIndexOf("_");
  return i < 0 ? [item, undefined] : [item.slice(0, i), item.slice(i + 1)];
}
