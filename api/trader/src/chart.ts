import { useEffect, useRef, useState } from "preact/hooks";
import type * as Lwc from "lightweight-charts";
import { apiGet } from "../../console/src/api.ts";
import { html } from "../../console/src/html.ts";
import { useI18n } from "./i18n.ts";
import { add } from "./money.ts";
import type { Feed } from "./ws.ts";
import type { SymbolInfo, Trade } from "./types.ts";

declare global {
  interface Window {
    LightweightCharts?: typeof Lwc;
  }
}

/** KuCoin candle types from 1 minute to 1 month. */
const INTERVALS = [
  ["1min", 60],
  ["5min", 300],
  ["15min", 900],
  ["1hour", 3600],
  ["4hour", 14_400],
  ["1day", 86_400],
  ["1week", 604_800],
  ["1month", 0],
] as const;
type Interval = (typeof INTERVALS)[number][0];

/** One candle, prices and volume as the gateway's decimal strings; time in epoch seconds. */
type Candle = { time: number; open: string; close: string; high: string; low: string; volume: string };

/** The candle a trade falls in, as the gateway buckets them: epoch multiples (weeks from Thursday 1970-01-01), months from the 1st (UTC). */
function bucket(sec: number, interval: Interval): number {
  if (interval === "1month") {
    const d = new Date(sec * 1000);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
  }
  const w = INTERVALS.find((i) => i[0] === interval)![1];
  return Math.floor(sec / w) * w;
}

const gt = (a: string, b: string) => Number(a) > Number(b); // comparison for drawing only; the values stay strings

function merge(c: Candle | undefined, time: number, price: string, size: string): Candle {
  if (!c || c.time !== time) return { time, open: price, close: price, high: price, low: price, volume: size };
  return { time, open: c.open, close: price, high: gt(price, c.high) ? price : c.high, low: gt(c.low, price) ? price : c.low, volume: add(c.volume, size) };
}

async function loadCandles(symbol: string, interval: Interval): Promise<Candle[]> {
  const now = Math.floor(Date.now() / 1000);
  const width = interval === "1month" ? 31 * 86_400 : INTERVALS.find((i) => i[0] === interval)![1];
  const rows = await apiGet<string[][]>(`/api/v1/market/candles?symbol=${symbol}&type=${interval}&startAt=${Math.max(0, now - width * 1000)}&endAt=${now}`);
  return rows.map(([t, o, c, h, l, v]) => ({ time: Number(t), open: o, close: c, high: h, low: l, volume: v })).sort((a, b) => a.time - b.time);
}

/**
 * Candles with volume (lightweight-charts), intervals 1 minute to 1 month, kept live: the
 * gateway's /market/candles topic where it has one, else the last candle is updated from each
 * /market/match trade.
 */
export function CandleChart({ symbol, info, feed }: { symbol: string; info: SymbolInfo; feed: Feed }) {
  const { t, lang } = useI18n();
  const [interval, setInterval_] = useState<Interval>("1min");
  const box = useRef<HTMLDivElement>(null);
  const [count, setCount] = useState(0);
  useEffect(() => {
    const LWC = window.LightweightCharts;
    const el = box.current;
    if (!LWC || !el) return;
    const chart = LWC.createChart(el, {
      autoSize: true,
      layout: { background: { type: LWC.ColorType.Solid, color: "#ffffff" }, textColor: "#1f2933", attributionLogo: false },
      grid: { vertLines: { color: "#eef1f4" }, horzLines: { color: "#eef1f4" } },
      timeScale: { timeVisible: interval !== "1day" && interval !== "1week" && interval !== "1month", secondsVisible: false },
      rightPriceScale: { scaleMargins: { top: 0.1, bottom: 0.3 } },
      localization: { locale: lang === "vi" ? "vi-VN" : "en-US", priceFormatter: (p: number) => Math.round(p).toLocaleString(lang === "vi" ? "vi-VN" : "en-US") },
    });
    const decimals = info.priceIncrement.split(".")[1]?.length ?? 0;
    const candles = chart.addSeries(LWC.CandlestickSeries, { upColor: "#16a34a", downColor: "#dc2626", wickUpColor: "#16a34a", wickDownColor: "#dc2626", borderVisible: false, priceFormat: { type: "price", precision: decimals, minMove: 10 ** -decimals } });
    const volume = chart.addSeries(LWC.HistogramSeries, { priceScaleId: "volume", priceFormat: { type: "volume" } });
    chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.75, bottom: 0 } });
    let data: Candle[] = [];
    let ready = false;
    const pending: Array<() => void> = [];
    const draw = (c: Candle) => {
      const time = c.time as Lwc.UTCTimestamp;
      candles.update({ time, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) });
      volume.update({ time, value: Number(c.volume), color: Number(c.close) >= Number(c.open) ? "rgba(22,163,74,0.45)" : "rgba(220,38,38,0.45)" });
    };
    const upsert = (c: Candle) => {
      const last = data[data.length - 1];
      if (last && c.time < last.time) return;
      if (last && last.time === c.time) data[data.length - 1] = c;
      else data.push(c);
      draw(c);
      setCount(data.length);
    };
    let serverCandles = false;
    const offMatch = feed.on(`/market/match:${symbol}`, (d: Trade) => {
      if (serverCandles) return;
      const run = () => {
        const sec = Number(BigInt(d.time) / 1_000_000_000n);
        upsert(merge(data[data.length - 1], bucket(sec, interval), d.price, d.size));
      };
      ready ? run() : pending.push(run);
    });
    const offCandles = feed.on(`/market/candles:${symbol}_${interval}`, (d: { candles: string[] }) => {
      serverCandles = true;
      const [tm, o, c, h, l, v] = d.candles;
      const run = () => upsert({ time: Number(tm), open: o, close: c, high: h, low: l, volume: v });
      ready ? run() : pending.push(run);
    });
    loadCandles(symbol, interval).then(
      (cs) => {
        data = cs;
        candles.setData(cs.map((c) => ({ time: c.time as Lwc.UTCTimestamp, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) })));
        volume.setData(cs.map((c) => ({ time: c.time as Lwc.UTCTimestamp, value: Number(c.volume), color: Number(c.close) >= Number(c.open) ? "rgba(22,163,74,0.45)" : "rgba(220,38,38,0.45)" })));
        ready = true;
        pending.splice(0).forEach((f) => f());
        setCount(data.length);
        chart.timeScale().fitContent();
      },
      () => undefined,
    );
    return () => {
      offMatch();
      offCandles();
      chart.remove();
    };
  }, [symbol, interval, feed, lang]);
  return html`<section class="panel chart-panel" aria-labelledby="chart-h">
    <div class="panel-head">
      <h2 id="chart-h">${t("chart")} ${info.baseCurrency}/${info.quoteCurrency}</h2>
      <div class="segmented" role="group" aria-label=${t("interval")}>
        ${INTERVALS.map(([k]) => html`<button type="button" key=${k} aria-pressed=${k === interval} onClick=${() => setInterval_(k)}>${k.replace("min", "m").replace("hour", "h").replace("day", "D").replace("week", "W").replace("month", "M")}</button>`)}
      </div>
    </div>
    <div ref=${box} class="chart" data-testid="candles" data-candles=${count} role="img" aria-label=${`${info.symbol} ${interval}`}></div>
  </section>`;
}
