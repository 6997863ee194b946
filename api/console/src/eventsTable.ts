import { html } from "./html.ts";
import { formatTime, short } from "./format.ts";
import { eventSummary, eventTypeWords } from "./eventWords.ts";
import { href } from "./router.ts";
import type { AuditEvent } from "./types.ts";

/** A link to an identity's activity (shortened hash, full one in the title). */
export function IdentityLink({ hash }: { hash?: string }) {
  if (!hash) return null;
  return html`<a href=${href.identity(hash)} title=${hash} class="mono" data-testid="identity-link">${short(hash)}</a>`;
}

/** A link to an order's lifecycle, with the whole id (an officer quotes it exactly). */
export function OrderLink({ id }: { id?: string }) {
  if (!id) return null;
  return html`<a href=${href.order(id)} class="mono" data-testid="order-link" data-order-id=${id}>${id}</a>`;
}

function Who({ e }: { e: AuditEvent }) {
  const wallet = e.wallet ?? e.account;
  const actor = e.actor && e.actor !== wallet ? html` <span class="muted">by ${short(e.actor)}</span>` : null;
  return html`${wallet ? html`<span class="mono" title=${wallet}>${short(wallet)}</span>` : null}${actor}${e.identityHash ? html`<br /><${IdentityLink} hash=${e.identityHash} />` : null}`;
}

/** The event in words, the raw record one click away. */
function What({ e }: { e: AuditEvent }) {
  const raw: Record<string, unknown> = { ...e };
  for (const k of ["seq", "id", "ts", "type"]) delete raw[k];
  return html`<span data-testid="event-summary">${eventSummary(e)}</span>${e.ruleId && e.type !== "alert.raised" ? html` <code class="pc-hint" title="Rule code">${e.ruleId}</code>` : null}${e.counterpartyIdentityHash ? html` <span class="pc-nowrap"><span class="muted">e-ID</span> <${IdentityLink} hash=${e.counterpartyIdentityHash} /></span>` : null}
    <details class="pc-raw"><summary>Raw record</summary><pre class="mono">${JSON.stringify(raw, null, 1)}</pre></details>`;
}

/**
 * Audit events as a table; every order id and identity hash links to its own view. Each event
 * is summarised in words (side, size and price, reason); at narrow widths rows become cards.
 */
export function EventsTable({ events, caption, testid = "events-table" }: { events: AuditEvent[]; caption?: string; testid?: string }) {
  if (events.length === 0) return html`<p class="muted" data-testid=${`${testid}-empty`}>No events.</p>`;
  return html`<div class="table-wrap pc-events-wrap">
    <table data-testid=${testid} data-rows=${events.length} class="pc-events">
      ${caption ? html`<caption>${caption}</caption>` : null}
      <thead>
        <tr>
          <th scope="col">Log #</th><th scope="col">Time (UTC)</th><th scope="col">Event</th><th scope="col">Wallet / e-ID</th>
          <th scope="col">Order</th><th scope="col">Symbol</th><th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        ${events.map(
          (e) => html`<tr key=${e.seq} data-testid="event-row" data-seq=${e.seq} data-type=${e.type} data-wallet=${(e.wallet ?? e.account ?? "").toLowerCase()}>
            <td class="mono" data-label="Log #">${e.seq}</td>
            <td class="mono pc-time" data-label="Time (UTC)">${formatTime(e.ts)}</td>
            <td data-label="Event">${eventTypeWords(e.type)}<br /><code class="pc-hint">${e.type}</code></td>
            <td data-label="Wallet / e-ID"><${Who} e=${e} /></td>
            <td data-label="Order"><${OrderLink} id=${e.orderId} /></td>
            <td data-label="Symbol" class="nowrap">${e.symbol ?? ""}</td>
            <td class="wrap pc-details" data-label="Details"><${What} e=${e} /></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** A page of results with a cursor "Load more" button. */
export function LoadMore({ cursor, loading, onMore }: { cursor?: string; loading: boolean; onMore: () => void }) {
  if (!cursor) return null;
  return html`<p><button type="button" data-testid="load-more" disabled=${loading} onClick=${onMore}>${loading ? "Loading…" : "Load more"}</button></p>`;
}
