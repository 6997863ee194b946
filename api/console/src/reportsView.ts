import { html } from "./html.ts";

/** Regulatory reports: large-value transactions per day and suspicious-transaction report drafts. */
export function ReportsView(_: { params: URLSearchParams }) {
  return html`<section data-testid="reports-view"><h2>Reports</h2><p class="muted">Not built yet.</p></section>`;
}
