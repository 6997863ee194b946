import { html } from "./html.ts";

/** Settlements the vault refused, waiting for an operator's retry or reversal, and how each was resolved. */
export function SettlementQueueView() {
  return html`<section data-testid="settlement-queue"><h2>Settlement failures</h2><p class="muted">Not built yet.</p></section>`;
}
