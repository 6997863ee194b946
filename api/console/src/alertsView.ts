import { useEffect, useState } from "preact/hooks";
import { apiGet, query } from "./api.ts";
import { html } from "./html.ts";
import { formatTime, short } from "./format.ts";
import { href, navigate } from "./router.ts";
import { LoadMore } from "./eventsTable.ts";
import { ALERT_RULES, ALERT_STATUSES, type Page, type StoredAlert } from "./types.ts";
import { useRemote } from "./useRemote.ts";
import { ruleWords } from "./alertWords.ts";

/** The surveillance alerts, newest first, filtered by status and rule; live alerts appear on top. */
export function AlertsView({ params, live }: { params: URLSearchParams; live: StoredAlert[] }) {
  const status = params.get("status") ?? "";
  const rule = params.get("rule") ?? "";
  const [extra, setExtra] = useState<{ items: StoredAlert[]; cursor?: string; loading: boolean }>({ items: [], loading: false });
  const page = useRemote(() => apiGet<Page<StoredAlert>>(`/api/v1/compliance/alerts${query({ status, rule, limit: 50 })}`), [status, rule]);
  useEffect(() => setExtra({ items: [], loading: false }), [page.data]);

  const setFilter = (k: string, v: string) => {
    const q = new URLSearchParams(params);
    if (v) q.set(k, v);
    else q.delete(k);
    const s = q.toString();
    navigate(s ? `#/alerts?${s}` : "#/alerts");
  };
  const more = async () => {
    const cursor = extra.cursor ?? page.data?.nextCursor;
    if (!cursor) return;
    setExtra((x) => ({ ...x, loading: true }));
    const next = await apiGet<Page<StoredAlert>>(`/api/v1/compliance/alerts${query({ status, rule, limit: 50, cursor })}`);
    setExtra((x) => ({ items: [...x.items, ...next.items], cursor: next.nextCursor ?? "", loading: false }));
  };

  // Live alerts first (deduplicated), when they pass the filters.
  const seen = new Set<string>();
  const rows: StoredAlert[] = [];
  for (const a of [...live.filter((a) => (!status || a.status === status) && (!rule || a.rule === rule)), ...(page.data?.items ?? []), ...extra.items]) {
    if (seen.has(a.alertId)) continue;
    seen.add(a.alertId);
    rows.push(a);
  }
  const cursor = extra.cursor === undefined ? page.data?.nextCursor : extra.cursor || undefined;

  return html`<section aria-labelledby="alerts-h">
    <h2 id="alerts-h">Surveillance alerts</h2>
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()}>
      <label>Status
        <select data-testid="alerts-status" value=${status} onChange=${(e: Event) => setFilter("status", (e.target as HTMLSelectElement).value)}>
          <option value="">any</option>
          ${ALERT_STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <label>Rule
        <select data-testid="alerts-rule" value=${rule} onChange=${(e: Event) => setFilter("rule", (e.target as HTMLSelectElement).value)}>
          <option value="">any</option>
          ${ALERT_RULES.map((r) => html`<option value=${r}>${ruleWords(r)}</option>`)}
        </select>
      </label>
      <button type="button" onClick=${page.reload}>Refresh</button>
    </form>
    ${page.error ? html`<p class="error" role="alert">${page.error.message}</p>` : null}
    ${page.loading && !page.data ? html`<p class="muted">Loading…</p>` : null}
    ${page.data && rows.length === 0 ? html`<p class="muted" data-testid="alerts-empty">No alerts.</p>` : null}
    ${rows.length > 0
      ? html`<div class="table-wrap"><table data-testid="alerts-table" class="clickable">
          <thead><tr><th scope="col">Time (UTC)</th><th scope="col">Rule</th><th scope="col">Severity</th><th scope="col">Symbol</th><th scope="col">Identities</th><th scope="col">Status</th></tr></thead>
          <tbody>
            ${rows.map(
              (a) => html`<tr key=${a.alertId} data-testid="alert-row" data-alert-id=${a.alertId} data-rule=${a.rule} data-status=${a.status} onClick=${(e: MouseEvent) => {
                if (!(e.target as HTMLElement).closest("a")) navigate(href.alert(a.alertId));
              }}>
                <td class="mono nowrap"><a href=${href.alert(a.alertId)} data-testid="alert-link">${formatTime(a.ts)}</a></td>
                <td>${ruleWords(a.rule)} <code class="pc-hint">${a.rule}</code></td>
                <td><span class=${`sev sev-${a.severity}`}>${a.severity}</span></td>
                <td>${a.symbol ?? ""}</td>
                <td>${a.identityHashes.map((h) => html`<a href=${href.identity(h)} class="mono chip" title=${h}>${short(h)}</a> `)}</td>
                <td><span class=${`status status-${a.status}`}>${a.status}</span></td>
              </tr>`,
            )}
          </tbody>
        </table></div>`
      : null}
    <${LoadMore} cursor=${cursor} loading=${extra.loading} onMore=${more} />
  </section>`;
}
