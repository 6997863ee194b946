import { html } from "./html.ts";
import { formatTime, short } from "./format.ts";
import { href } from "./router.ts";
import type { AuditEvent } from "./types.ts";

/** A link to an identity's activity (shortened hash, full one in the title). */
export function IdentityLink({ hash }: { hash?: string }) {
  if (!hash) return null;
  return html`<a href=${href.identity(hash)} title=${hash} class="mono" data-testid="identity-link">${short(hash)}</a>`;
}

export function OrderLink({ id }: { id?: string }) {
  if (!id) return null;
  return html`<a href=${href.order(id)} class="mono" data-testid="order-link" data-order-id=${id}>${id}</a>`;
}

function Who({ e }: { e: AuditEvent }) {
  const wallet = e.wallet ?? e.account;
  const actor = e.actor && e.actor !== wallet ? html` <span class="muted">by ${short(e.actor)}</span>` : null;
  return html`<span class="mono" title=${wallet ?? ""}>${short(wallet)}</span>${actor}`;
}

function What({ e }: { e: AuditEvent }) {
  const parts: string[] = [];
  if (e.tradeId) parts.push(`trade ${e.tradeId}${e.liquidity ? ` (${e.liquidity})` : ""}`);
  if (e.counterpartyAccount) parts.push(`vs ${short(e.counterpartyAccount)}`);
  if (e.orderType) parts.push(`${e.orderType}${e.tif ? ` ${e.tif}` : ""}`);
  if (e.refPrice) parts.push(`ref ${e.refPrice}`);
  if (e.ruleId) parts.push(e.ruleId);
  if (e.reason) parts.push(e.reason);
  if (e.currency && e.amount) parts.push(`${e.amount} ${e.currency}`);
  if (e.txHash) parts.push(`tx ${short(e.txHash)}`);
  const detail = e.detail ? JSON.stringify(e.detail) : "";
  return html`<span title=${detail}>${parts.join(" · ")}</span>${e.counterpartyIdentityHash ? html` <${IdentityLink} hash=${e.counterpartyIdentityHash} />` : null}`;
}

/** Audit events as a table; every order id and identity hash links to its own view. */
export function EventsTable({ events, caption, testid = "events-table" }: { events: AuditEvent[]; caption?: string; testid?: string }) {
  if (events.length === 0) return html`<p class="muted" data-testid=${`${testid}-empty`}>No events.</p>`;
  return html`<div class="table-wrap">
    <table data-testid=${testid} data-rows=${events.length}>
      ${caption ? html`<caption>${caption}</caption>` : null}
      <thead>
        <tr>
          <th scope="col">Seq</th><th scope="col">Time (UTC)</th><th scope="col">Type</th><th scope="col">Wallet</th><th scope="col">Identity</th>
          <th scope="col">Order</th><th scope="col">Symbol</th><th scope="col">Side</th><th scope="col" class="num">Price</th><th scope="col" class="num">Qty</th><th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        ${events.map(
          (e) => html`<tr key=${e.seq} data-testid="event-row" data-seq=${e.seq} data-type=${e.type} data-wallet=${(e.wallet ?? e.account ?? "").toLowerCase()}>
            <td class="mono">${e.seq}</td>
            <td class="mono nowrap">${formatTime(e.ts)}</td>
            <td><code>${e.type}</code></td>
            <td><${Who} e=${e} /></td>
            <td><${IdentityLink} hash=${e.identityHash} /></td>
            <td><${OrderLink} id=${e.orderId} /></td>
            <td>${e.symbol ?? ""}</td>
            <td class=${e.side ?? ""}>${e.side ?? ""}</td>
            <td class="num mono">${e.price ?? ""}</td>
            <td class="num mono">${e.qty ?? ""}</td>
            <td class="wrap"><${What} e=${e} /></td>
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
