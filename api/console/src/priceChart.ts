import { useEffect, useRef } from "preact/hooks";
import type * as Lwc from "lightweight-charts";
import { html } from "./html.ts";
import type { ChartTrade } from "./types.ts";

declare global {
  interface Window {
    /** TradingView Lightweight Charts, loaded as a classic script (standalone build). */
    LightweightCharts?: typeof Lwc;
  }
}

export type ChartPoint = { time: number; price: number; volume: number; up: boolean };

/** Epoch seconds with the microseconds of an ISO timestamp (Date.parse stops at milliseconds). */
export function epochSeconds(ts: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(ts);
  if (!m) return Date.parse(ts) / 1000;
  return Date.parse(`${m[1]}Z`) / 1000 + Number(`0.${(m[2] ?? "").padEnd(6, "0")}`);
}

/** `HH:MM:SS.ffffff` of epoch seconds (the chart's crosshair label, UTC). */
function clock(t: number): string {
  const whole = Math.floor(t);
  const micros = Math.round((t - whole) * 1e6);
  return `${new Date(whole * 1000).toISOString().slice(11, 19)}.${String(micros).padStart(6, "0")}`;
}

/**
 * One point per trade instant (microseconds): the trade price and quantity; fills at the same
 * instant (one taker sweeping several makers) merge into one point with the last price and the
 * summed quantity. Numbers here are for drawing only; amounts stay strings everywhere else.
 */
export function toPoints(trades: ChartTrade[]): ChartPoint[] {
  const points: ChartPoint[] = [];
  for (const t of trades) {
    if (t.price === undefined) continue;
    const time = epochSeconds(t.ts);
    const price = Number(t.price);
    const qty = Number(t.qty ?? "0");
    const last = points[points.length - 1];
    if (last && time <= last.time) {
      last.price = price;
      last.volume += qty;
    } else {
      points.push({ time, price, volume: qty, up: last === undefined || price >= last.price });
    }
  }
  return points;
}

/** The most decimals among the trades' prices (the chart's price precision). */
function decimals(trades: ChartTrade[]): number {
  let d = 0;
  for (const t of trades) d = Math.max(d, t.price?.split(".")[1]?.length ?? 0);
  return d;
}

/** Price line and volume histogram of the symbol's trades around an alert, marked at the alert time. */
export function PriceChart({ trades, alertTs, label }: { trades: ChartTrade[]; alertTs: string; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const points = toPoints(trades);
  useEffect(() => {
    const LWC = window.LightweightCharts;
    const el = box.current;
    if (!LWC || !el || points.length === 0) return;
    const chart = LWC.createChart(el, {
      autoSize: true,
      layout: { background: { type: LWC.ColorType.Solid, color: "#ffffff" }, textColor: "#1f2933", attributionLogo: false },
      grid: { vertLines: { color: "#eef1f4" }, horzLines: { color: "#eef1f4" } },
      // Trades a few milliseconds apart: label sub-second ticks with milliseconds.
      timeScale: { timeVisible: true, secondsVisible: true, tickMarkFormatter: (t: Lwc.Time) => (typeof t === "number" && t % 1 !== 0 ? clock(t).slice(0, 12) : null) },
      localization: { timeFormatter: (t: Lwc.Time) => (typeof t === "number" ? clock(t) : String(t)) },
      rightPriceScale: { scaleMargins: { top: 0.1, bottom: 0.3 } },
    });
    const precision = decimals(trades);
    const price = chart.addSeries(LWC.LineSeries, { color: "#2563eb", lineWidth: 2, title: label, priceFormat: { type: "price", precision, minMove: 10 ** -precision } });
    const volume = chart.addSeries(LWC.HistogramSeries, { priceScaleId: "volume", priceFormat: { type: "volume" }, title: "volume" });
    chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.75, bottom: 0 } });
    price.setData(points.map((p) => ({ time: p.time as Lwc.UTCTimestamp, value: p.price })));
    volume.setData(points.map((p) => ({ time: p.time as Lwc.UTCTimestamp, value: p.volume, color: p.up ? "rgba(22,163,74,0.5)" : "rgba(220,38,38,0.5)" })));
    const at = epochSeconds(alertTs);
    // The marker sits on the alert's trade, or the last point before it.
    const markerTime = points.reduce((best, p) => (p.time <= at ? p.time : best), points[0].time);
    LWC.createSeriesMarkers(price, [{ time: markerTime as Lwc.UTCTimestamp, position: "aboveBar", color: "#dc2626", shape: "arrowDown", text: "alert" }]);
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [trades, alertTs]);
  if (points.length === 0) return html`<p class="muted" data-testid="chart-empty">No trades in this symbol around the alert.</p>`;
  return html`<figure class="chart-figure">
    <div ref=${box} class="chart" data-testid="price-chart" data-points=${points.length} data-trades=${trades.length} role="img" aria-label=${`Price and volume of ${label}: ${trades.length} trades around the alert`}></div>
    <figcaption class="muted">${label}: ${trades.length} trades (taker side) within ±30 minutes of the alert; the arrow marks the alert. Times in UTC.</figcaption>
  </figure>`;
}
