import { useEffect, useState } from "preact/hooks";
import { apiGet, query } from "./api.ts";
import { html } from "./html.ts";
import { formatTime, parseTimeInput } from "./format.ts";
import { href, navigate } from "./router.ts";
import type { MarketSymbol, PastBook } from "./types.ts";
import { useRemote } from "./useRemote.ts";

const DEFAULT_DEPTH = "20";

/** A decimal string as an integer at `scale` fraction digits (exact: no float). */
function scaled(s: string, scale: number): bigint {
  const [int, frac = ""] = s.split(".");
  return BigInt(int + frac.padEnd(scale, "0").slice(0, scale));
}

/** Each size's share of the largest shown, in tenths of a percent (bar widths), computed in BigInt. */
function shares(sizes: string[]): number[] {
  const scale = Math.max(0, ...sizes.map((s) => s.split(".")[1]?.length ?? 0));
  const values = sizes.map((s) => scaled(s, scale));
  const max = values.reduce((m, v) => (v > m ? v : m), 0n);
  return values.map((v) => (max === 0n ? 0 : Number((v * 1000n) / max)));
}

function Ladder({ book }: { book: PastBook }) {
  const all = shares([...book.asks, ...book.bids].map(([, size]) => size));
  const askShares = all.slice(0, book.asks.length);
  const bidShares = all.slice(book.asks.length);
  // Asks from the highest down to the best, then the bids from the best down: the spread sits in the middle.
  const asks = book.asks.map((l, i) => ({ l, share: askShares[i] })).reverse();
  const bids = book.bids.map((l, i) => ({ l, share: bidShares[i] }));
  const row = (side: "ask" | "bid", [price, size]: [string, string], share: number) =>
    html`<tr class=${`book-${side}`} data-testid="book-level" data-side=${side} data-price=${price} data-size=${size}>
      <td class="num mono book-price">${price}</td>
      <td class="num mono">${size}</td>
      <td class="book-bar-cell" aria-hidden="true"><span class="book-bar" style=${`width:${share / 10}%`}></span></td>
    </tr>`;
  const bestBid = book.bids[0]?.[0];
  const bestAsk = book.asks[0]?.[0];
  return html`<div class="table-wrap book-wrap">
    <table class="book-ladder" data-testid="book-ladder" data-asks=${book.asks.length} data-bids=${book.bids.length}>
      <caption>${book.asks.length} ask and ${book.bids.length} bid levels (up to ${book.depth} a side)</caption>
      <thead><tr><th scope="col" class="num">Price</th><th scope="col" class="num">Size</th><th scope="col"><span class="sr-only">Size bar</span></th></tr></thead>
      <tbody>
        ${asks.length ? asks.map(({ l, share }) => row("ask", l, share)) : html`<tr><td colspan="3" class="muted">No asks</td></tr>`}
        <tr class="book-spread"><td colspan="3">Best bid ${bestBid ? html`<span class="mono">${bestBid}</span>` : "none"} · best ask ${bestAsk ? html`<span class="mono">${bestAsk}</span>` : "none"}</td></tr>
        ${bids.length ? bids.map(({ l, share }) => row("bid", l, share)) : html`<tr><td colspan="3" class="muted">No bids</td></tr>`}
      </tbody>
    </table>
  </div>`;
}

/** The order book of a symbol as it was at a journal sequence or a time, stepping forward and back. */
export function BookView({ symbol, params }: { symbol: string; params: URLSearchParams }) {
  const seq = params.get("seq") ?? "";
  const time = params.get("time") ?? "";
  const depth = params.get("depth") ?? DEFAULT_DEPTH;
  const symbols = useRemote(() => apiGet<MarketSymbol[]>("/api/v2/symbols"), []);
  const [form, setForm] = useState({ symbol, mode: time ? "time" : "seq", at: time ? formatTime(time) : seq, depth });
  const key = `${symbol}|${params.toString()}`;
  // The form follows the URL (a step, a link, back/forward), not the other way round.
  useEffect(() => setForm({ symbol, mode: time ? "time" : "seq", at: time ? formatTime(time) : seq, depth }), [key]);
  const asked = symbol !== "" && (seq !== "" || time !== "");
  const book = useRemote(
    () => (asked ? apiGet<PastBook>(`/api/v1/compliance/books/${encodeURIComponent(symbol)}${query({ seq, time, depth })}`) : Promise.resolve(undefined)),
    [key],
  );

  const submit = (e: Event) => {
    e.preventDefault();
    const at = form.at.trim();
    navigate(href.book(form.symbol, form.mode === "time" ? { time: parseTimeInput(at), depth: form.depth } : { seq: at, depth: form.depth }));
  };
  const now = () => setForm({ ...form, mode: "time", at: formatTime(new Date().toISOString()) });
  const stepTo = (s: string) => navigate(href.book(symbol, { seq: s, depth }));
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const b = book.data;

  return html`<section aria-labelledby="book-h" data-testid="book-view">
    <h2 id="book-h">Order book in the past${symbol ? html` · <span class="nowrap">${symbol}</span>` : null}</h2>
    <p class="muted">Rebuilt by replaying the trading journal: exactly the book as it stood after one journal record. Steps go to the records that changed what is shown at this depth.</p>
    <form class="filters book-form" data-testid="book-form" onSubmit=${submit}>
      <label>Symbol
        <select data-testid="book-symbol" value=${form.symbol} onChange=${set("symbol")} required>
          <option value="">Choose…</option>
          ${(symbols.data ?? []).map((s) => html`<option value=${s.symbol}>${s.symbol}</option>`)}
          ${symbol && !(symbols.data ?? []).some((s) => s.symbol === symbol) ? html`<option value=${symbol}>${symbol}</option>` : null}
        </select>
      </label>
      <fieldset class="book-mode">
        <legend>At</legend>
        <label><input type="radio" name="book-mode" value="seq" data-testid="book-mode-seq" checked=${form.mode === "seq"} onChange=${() => setForm({ ...form, mode: "seq" })} /> journal record</label>
        <label><input type="radio" name="book-mode" value="time" data-testid="book-mode-time" checked=${form.mode === "time"} onChange=${() => setForm({ ...form, mode: "time" })} /> time (UTC)</label>
      </fieldset>
      <label>${form.mode === "time" ? "Time (UTC, µs allowed)" : "Journal sequence"}
        <input data-testid="book-at" value=${form.at} onInput=${set("at")} required autocomplete="off" spellcheck="false"
          inputmode=${form.mode === "seq" ? "numeric" : "text"} placeholder=${form.mode === "time" ? "2026-11-23 10:15:30.123456 UTC" : "e.g. 1200"} />
      </label>
      <label>Depth (levels a side)<input type="number" min="1" max="500" data-testid="book-depth" value=${form.depth} onInput=${set("depth")} /></label>
      <div class="buttons">
        <button type="submit" data-testid="book-show">Show</button>
        <button type="button" class="secondary" data-testid="book-now" onClick=${now}>Now</button>
      </div>
    </form>
    ${symbols.error ? html`<p class="error" role="alert">Symbols: ${symbols.error.message}</p>` : null}
    ${!asked ? html`<p class="muted" data-testid="book-hint">Choose a symbol and a journal sequence or a time. The order lifecycle view links here at each of an order's events.</p>` : null}
    ${book.error ? html`<p class="error" role="alert" data-testid="book-error">${book.error.message}</p>` : null}
    ${asked && book.loading ? html`<p class="muted" role="status">Replaying the journal…</p>` : null}
    ${b && !book.loading
      ? html`<div data-testid="book-state" data-seq=${b.journalSeq} data-changed-at=${b.changedAt ?? ""} data-prev=${b.prevSeq ?? ""} data-next=${b.nextSeq ?? ""}>
          <dl class="facts book-facts">
            <dt>After journal record</dt><dd class="mono" data-testid="book-seq">#${b.journalSeq}</dd>
            <dt>Record time</dt><dd class="mono">${b.time ? formatTime(b.time) : "—"}</dd>
            <dt>Book last changed by</dt><dd>${b.changedAt ? html`<span class="mono">record #${b.changedAt}</span>` : "no record yet: empty since the journal began"}</dd>
          </dl>
          <div class="buttons book-steps">
            <button type="button" class="secondary" data-testid="book-back" disabled=${!b.prevSeq} onClick=${() => b.prevSeq && stepTo(b.prevSeq)}>← Step back</button>
            <button type="button" class="secondary" data-testid="book-forward" disabled=${!b.nextSeq} onClick=${() => b.nextSeq && stepTo(b.nextSeq)}>Step forward →</button>
          </div>
          <p class="muted book-edge" data-testid="book-edge" role="status">
            ${!b.prevSeq ? "This is the first state of the book at this depth. " : html`Back: record #${b.prevSeq}. `}
            ${b.nextSeq
              ? html`Forward: record #${b.nextSeq}.`
              : b.nextSearchedTo
                ? html`No change in the next ${(BigInt(b.nextSearchedTo) - BigInt(b.journalSeq)).toString()} records (up to #${b.nextSearchedTo} of ${b.journalEnd}).`
                : `This is the latest state: no record changed it up to journal record #${b.journalEnd}.`}
          </p>
          ${b.nextSearchedTo
            ? html`<div class="buttons"><button type="button" class="secondary" data-testid="book-search-further" onClick=${() => b.nextSearchedTo && stepTo(b.nextSearchedTo)}>Search further from #${b.nextSearchedTo} →</button></div>`
            : null}
          <${Ladder} book=${b} />
        </div>`
      : null}
  </section>`;
}
