import { html } from "./html.ts";

/** Operator controls: halt/resume a symbol, kill switch, risk limits; each with a reason, audited. */
export function OperatorView() {
  return html`<section data-testid="operator-view"><h2>Operator controls</h2><p class="muted">Not built yet.</p></section>`;
}
