import { html } from "./html.ts";

/** The order book of a symbol as it was at a journal sequence or a time, stepping forward and back. */
export function BookView({ symbol }: { symbol: string; params: URLSearchParams }) {
  return html`<section data-testid="book-view"><h2>Order book ${symbol}</h2><p class="muted">Not built yet.</p></section>`;
}
