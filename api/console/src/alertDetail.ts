import { useState } from "preact/hooks";
import { apiGet, apiPost } from "./api.ts";
import { html } from "./html.ts";
import { formatTime } from "./format.ts";
import { href } from "./router.ts";
import { EventsTable, IdentityLink, OrderLink } from "./eventsTable.ts";
import { PriceChart } from "./priceChart.ts";
import { detailLabel, detailValueWords, ruleWords } from "./alertWords.ts";
import type { AlertDetail, AlertStatus, StoredAlert } from "./types.ts";
import { useRemote } from "./useRemote.ts";

function DetailValue({ k, v, symbol }: { k: string; v: unknown; symbol?: string }): ReturnType<typeof html> {
  if (typeof v === "string" && /OrderId$|^orderId$/.test(k)) return html`<${OrderLink} id=${v} />`;
  if (typeof v === "string" && /^0x[0-9a-fA-F]{64}$/.test(v)) return html`<${IdentityLink} hash=${v} />`;
  if (typeof v === "string" && /Account$/.test(k) && /^0x[0-9a-fA-F]{40}$/.test(v)) return html`<a class="mono" href=${href.search({ account: v })} title=${v}>${v}</a>`;
  // A list of records (e.g. a ring's members): a small table with one column per key, headed in words.
  if (Array.isArray(v) && v.length > 0 && v.every((x) => x !== null && typeof x === "object" && !Array.isArray(x))) {
    const rows = v as Array<Record<string, unknown>>;
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return html`<div class="pc-nested-wrap"><table class="nested">
      <thead><tr>${keys.map((c) => html`<th scope="col" title=${c}>${detailLabel(c)}</th>`)}</tr></thead>
      <tbody>${rows.map((r) => html`<tr>${keys.map((c) => html`<td>${r[c] === undefined ? "" : html`<${DetailValue} k=${c} v=${r[c]} symbol=${symbol} />`}</td>`)}</tr>`)}</tbody>
    </table></div>`;
  }
  return html`<span>${detailValueWords(k, v, symbol)}</span>`;
}

/** Acknowledge / close / reopen, with a note; both go to the audit log. */
function StatusActions({ alert, onChange }: { alert: StoredAlert; onChange: (a: StoredAlert) => void }) {
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const act = async (status: AlertStatus) => {
    setBusy(true);
    setError("");
    try {
      const updated = await apiPost<StoredAlert>(`/api/v1/compliance/alerts/${encodeURIComponent(alert.alertId)}/status`, { status, note: note.trim() || undefined });
      setNote("");
      onChange(updated);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="actions" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Alert review">
    <label for="alert-note">Note (recorded in the audit log)</label>
    <textarea id="alert-note" data-testid="alert-note" maxlength="1000" rows="2" value=${note} onInput=${(e: Event) => setNote((e.target as HTMLTextAreaElement).value)}></textarea>
    <div class="buttons">
      ${alert.status !== "acknowledged" && alert.status !== "closed" ? html`<button type="button" data-testid="ack" disabled=${busy} onClick=${() => act("acknowledged")}>Acknowledge</button>` : null}
      ${alert.status !== "closed" ? html`<button type="button" data-testid="close-alert" disabled=${busy} onClick=${() => act("closed")}>Close</button>` : null}
      ${alert.status !== "open" ? html`<button type="button" data-testid="reopen" class="secondary" disabled=${busy} onClick=${() => act("open")}>Reopen</button>` : null}
    </div>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </form>`;
}

/** One alert: what, who, the thresholds, the evidence events and the market around it. */
export function AlertDetailView({ id }: { id: string }) {
  const r = useRemote(() => apiGet<AlertDetail>(`/api/v1/compliance/alerts/${encodeURIComponent(id)}`), [id]);
  if (r.error) return html`<section><p class="error" role="alert">${r.error.message}</p><p><a href=${href.alerts()}>Back to alerts</a></p></section>`;
  if (!r.data) return html`<p class="muted">Loading…</p>`;
  const { alert, evidence, trades } = r.data;
  const setAlert = (a: StoredAlert) => r.set({ ...r.data!, alert: a });
  return html`<section aria-labelledby="alert-h" data-testid="alert-detail" data-alert-id=${alert.alertId}>
    <p><a href=${href.alerts()}>← Alerts</a></p>
    <h2 id="alert-h"><span data-testid="alert-rule-words">${ruleWords(alert.rule)}</span> <code class="pc-hint" title="Rule code">${alert.rule}</code> <span class=${`sev sev-${alert.severity}`}>${alert.severity}</span></h2>
    <p class="summary" data-testid="alert-summary">${alert.summary}</p>
    <dl class="facts">
      <dt>Time</dt><dd class="mono">${formatTime(alert.ts)}</dd>
      <dt>Status</dt><dd><span class=${`status status-${alert.status}`} data-testid="alert-status">${alert.status}</span>${alert.statusBy ? html` <span class="muted">by ${alert.statusBy}</span>` : null}${alert.statusNote ? html` <q data-testid="alert-status-note">${alert.statusNote}</q>` : null}</dd>
      <dt>Symbol</dt><dd>${alert.symbol ?? "—"}</dd>
      <dt>Identities</dt><dd>${alert.identityHashes.map((h) => html`<${IdentityLink} hash=${h} /> `)}</dd>
      <dt>Accounts</dt><dd>${alert.accounts.map((a) => html`<a class="mono" href=${href.search({ account: a })} title=${a}>${a}</a> `)}</dd>
      <dt>Alert id</dt><dd class="mono">${alert.alertId} (log #${alert.seq})</dd>
    </dl>
    <h3>Thresholds and measurements</h3>
    <dl class="facts" data-testid="alert-detail-values">
      ${Object.entries(alert.detail).map(([k, v]) => html`<dt data-key=${k} title=${k}>${detailLabel(k)}</dt><dd><${DetailValue} k=${k} v=${v} symbol=${alert.symbol} /></dd>`)}
    </dl>
    <${StatusActions} alert=${alert} onChange=${setAlert} />
    <p><a href=${href.reports({ alert: alert.alertId })} data-testid="draft-str">Draft STR (suspicious-transaction report) from this alert</a></p>
    <h3>Market around the alert</h3>
    ${alert.symbol ? html`<${PriceChart} trades=${trades} alertTs=${alert.ts} label=${alert.symbol} />` : html`<p class="muted">No symbol.</p>`}
    <h3>Evidence (${evidence.length} events)</h3>
    ${alert.symbol && evidence.some((e) => e.jseq !== undefined) ? html`<p><a data-testid="alert-book-link" href=${href.book(alert.symbol, { seq: String(evidence.find((e) => e.jseq !== undefined)!.jseq) })}>Order book at the first evidence event</a></p>` : null}
    <${EventsTable} events=${evidence} testid="evidence-table" />
  </section>`;
}
