import { useEffect, useState } from "preact/hooks";
import { apiGet } from "../../console/src/api.ts";
import { html } from "../../console/src/html.ts";
import { useI18n } from "./i18n.ts";
import { compare, formatChange, formatDecimal, formatVnd } from "./money.ts";
import type { Feed } from "./ws.ts";
import type { Level, SymbolInfo, Ticker, Trade } from "./types.ts";

/** A price in the market's quote currency (VND as money). */
export function usePrice() {
  const { lang } = useI18n();
  return (p: string | null | undefined, quote = "VND") => (quote === "VND" ? formatVnd(p, lang) : formatDecimal(p, lang));
}

/** Markets with last price and 24 h change: /allTickers, then each market's /market/snapshot live. */
export function MarketList({ symbols, feed, selected, onSelect }: { symbols: SymbolInfo[]; feed: Feed; selected: string; onSelect: (s: string) => void }) {
  const { t, lang } = useI18n();
  const price = usePrice();
  const [tickers, setTickers] = useState<Record<string, Ticker>>({});
  useEffect(() => {
    let live = true;
    apiGet<{ ticker: Ticker[] }>("/api/v1/market/allTickers").then((r) => live && setTickers(Object.fromEntries(r.ticker.map((x) => [x.symbol, x]))), () => undefined);
    const offs = symbols.map((s) =>
      feed.on(`/market/snapshot:${s.symbol}`, (d: { data: { symbol: string; lastTradedPrice: string; changeRate: string; high: string; low: string; vol: string } }) => {
        const x = d.data;
        setTickers((all) => ({ ...all, [x.symbol]: { ...all[x.symbol], symbol: x.symbol, last: x.lastTradedPrice, changeRate: x.changeRate, high: x.high, low: x.low, vol: x.vol } as Ticker }));
      }),
    );
    return () => {
      live = false;
      offs.forEach((f) => f());
    };
  }, [symbols, feed]);
  return html`<section class="panel markets" aria-labelledby="markets-h">
    <h2 id="markets-h">${t("markets")}</h2>
    <table class="grid" data-testid="markets">
      <thead><tr><th>${t("market")}</th><th class="num">${t("last")}</th><th class="num">${t("change24h")}</th></tr></thead>
      <tbody>
        ${symbols.map((s) => {
          const x = tickers[s.symbol];
          const rate = Number(x?.changeRate ?? "0");
          const hasTrade = x?.last && x.last !== "0";
          return html`<tr key=${s.symbol} class=${s.symbol === selected ? "selected" : ""} data-symbol=${s.symbol}>
            <th scope="row"><button type="button" class="link" aria-pressed=${s.symbol === selected} onClick=${() => onSelect(s.symbol)}>${s.baseCurrency}<span class="muted">/${s.quoteCurrency}</span></button></th>
            <td class="num mono" data-testid="market-last">${hasTrade ? price(x.last, s.quoteCurrency) : "—"}</td>
            <td class=${`num mono ${rate > 0 ? "up" : rate < 0 ? "down" : ""}`}>${hasTrade ? formatChange(x.changeRate, lang) : "—"}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </section>`;
}

type Book = { sequence: number; bids: Map<string, string>; asks: Map<string, string> };

/**
 * The order book: the REST snapshot (level2_100), then the /market/level2 deltas after its
 * sequence (deltas that arrive while the snapshot loads are kept and replayed).
 */
export function OrderBook({ symbol, info, feed, onPick }: { symbol: string; info: SymbolInfo; feed: Feed; onPick: (price: string) => void }) {
  const { t, lang } = useI18n();
  const price = usePrice();
  const [book, setBook] = useState<Book | null>(null);
  const [gen, setGen] = useState(0);
  useEffect(() => {
    let current: Book | null = null;
    const early: Array<{ changes: { asks: string[][]; bids: string[][] } }> = [];
    const apply = (b: Book, changes: { asks: string[][]; bids: string[][] }) => {
      for (const [side, list] of [["asks", changes.asks], ["bids", changes.bids]] as const) {
        for (const [p, q, seq] of list) {
          if (Number(seq) <= b.sequence) continue;
          if (compare(q, "0") === 0) b[side].delete(p);
          else b[side].set(p, q);
        }
      }
    };
    const off = feed.on(`/market/level2:${symbol}`, (d: { changes: { asks: string[][]; bids: string[][] } }) => {
      if (!current) return void early.push(d);
      const next = { sequence: current.sequence, bids: new Map(current.bids), asks: new Map(current.asks) };
      apply(next, d.changes);
      current = next;
      setBook(next);
    });
    apiGet<{ sequence: string; bids: Level[]; asks: Level[] }>(`/api/v1/market/orderbook/level2_100?symbol=${symbol}`).then((r) => {
      const b: Book = { sequence: Number(r.sequence), bids: new Map(r.bids), asks: new Map(r.asks) };
      for (const e of early) apply(b, e.changes);
      current = b;
      setBook(b);
    }, () => undefined);
    return () => {
      off();
      setBook(null);
    };
  }, [symbol, feed, gen]);
  useEffect(() => {
    const again = () => setGen((g) => g + 1);
    window.addEventListener("sen:resync", again);
    return () => window.removeEventListener("sen:resync", again);
  }, []);
  const asks = book ? [...book.asks].sort((a, b) => compare(a[0], b[0])).slice(0, 10).reverse() : [];
  const bids = book ? [...book.bids].sort((a, b) => compare(b[0], a[0])).slice(0, 10) : [];
  // Bar widths are for drawing only.
  const max = Math.max(1, ...asks.map((l) => Number(l[1])), ...bids.map((l) => Number(l[1])));
  const row = (side: "ask" | "bid") => ([p, q]: [string, string]) =>
    html`<tr key=${p} class=${side} data-price=${p} data-size=${q}>
      <td class="num mono price"><button type="button" class="link mono" title=${t("price")} onClick=${() => onPick(p)}>${price(p, info.quoteCurrency)}</button></td>
      <td class="num mono">${formatDecimal(q, lang)}</td>
      <td class="bar" aria-hidden="true"><span style=${{ width: `${Math.round((Number(q) / max) * 100)}%` }}></span></td>
    </tr>`;
  return html`<section class="panel book" aria-labelledby="book-h">
    <h2 id="book-h">${t("book")}</h2>
    <table class="grid">
      <thead><tr><th class="num">${t("price")}</th><th class="num">${t("size")} (${info.baseCurrency})</th><th></th></tr></thead>
      <tbody data-testid="book-asks">${asks.map(row("ask"))}</tbody>
      <tbody data-testid="book-bids">${bids.map(row("bid"))}</tbody>
    </table>
  </section>`;
}

/** The trades tape: the last 100 trades, then each /market/match live. */
export function TradesTape({ symbol, info, feed }: { symbol: string; info: SymbolInfo; feed: Feed }) {
  const { t, lang } = useI18n();
  const price = usePrice();
  const [trades, setTrades] = useState<Trade[]>([]);
  useEffect(() => {
    let live = true;
    const seen = new Set<string>();
    const off = feed.on(`/market/match:${symbol}`, (d: Trade) => {
      if (seen.has(d.tradeId)) return;
      seen.add(d.tradeId);
      setTrades((ts) => [d, ...ts].slice(0, 60));
    });
    apiGet<Trade[]>(`/api/v1/market/histories?symbol=${symbol}`).then((r) => {
      if (!live) return;
      const fresh = r.filter((x) => !seen.has(x.tradeId));
      fresh.forEach((x) => seen.add(x.tradeId));
      setTrades((ts) => [...ts, ...fresh].sort((a, b) => (BigInt(b.time) > BigInt(a.time) ? 1 : -1)).slice(0, 60));
    }, () => undefined);
    return () => {
      live = false;
      off();
      setTrades([]);
    };
  }, [symbol, feed]);
  return html`<section class="panel tape" aria-labelledby="tape-h">
    <h2 id="tape-h">${t("trades")}</h2>
    ${trades.length === 0
      ? html`<p class="muted">${t("noTrades")}</p>`
      : html`<table class="grid" data-testid="trades">
          <thead><tr><th class="num">${t("price")}</th><th class="num">${t("size")}</th><th class="num">${t("time")}</th></tr></thead>
          <tbody>
            ${trades.map(
              (x) => html`<tr key=${x.tradeId} data-trade=${x.tradeId}>
                <td class=${`num mono ${x.side === "buy" ? "up" : "down"}`}>${price(x.price, info.quoteCurrency)}</td>
                <td class="num mono">${formatDecimal(x.size, lang)}</td>
                <td class="num mono muted">${new Date(Number(BigInt(x.time) / 1_000_000n)).toLocaleTimeString(lang === "vi" ? "vi-VN" : "en-GB")}</td>
              </tr>`,
            )}
          </tbody>
        </table>`}
  </section>`;
}
