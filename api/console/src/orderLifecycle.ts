import { apiGet } from "./api.ts";
import { html } from "./html.ts";
import { href } from "./router.ts";
import { EventsTable } from "./eventsTable.ts";
import type { OrderLifecycle } from "./types.ts";
import { useRemote } from "./useRemote.ts";

/** "Order book at this event" for each event that came from a journal record. */
function BookLinks({ events }: { events: OrderLifecycle["events"] }) {
  const at = events.filter((e) => e.jseq !== undefined && e.symbol);
  if (at.length === 0) return null;
  return html`<p class="book-links" data-testid="lifecycle-book-links">Order book at this event:
    ${at.map((e, i) => html`${i ? " · " : ""}<a href=${href.book(e.symbol!, { seq: String(e.jseq) })} data-testid="book-at-event" data-jseq=${e.jseq}>${e.type.replace(/^order\./, "")} (record #${e.jseq})</a>`)}
  </p>`;
}

/** Every event of one order, oldest first, and its state now. */
export function OrderLifecycleView({ id }: { id: string }) {
  const r = useRemote(() => apiGet<OrderLifecycle>(`/api/v1/compliance/orders/${encodeURIComponent(id)}/lifecycle`), [id]);
  if (r.error) return html`<section><h2>Order <code>${id}</code></h2><p class="error" role="alert" data-testid="order-error">${r.error.message}</p><p><a href=${href.search({ orderId: id })}>Search the audit trail for this id</a></p></section>`;
  if (!r.data) return html`<p class="muted">Loading…</p>`;
  const { events, current } = r.data;
  return html`<section aria-labelledby="order-h" data-testid="order-lifecycle" data-order-id=${id}>
    <h2 id="order-h">Order <code>${id}</code></h2>
    ${current
      ? html`<dl class="facts" data-testid="order-current">
          <dt>Now</dt><dd>${current.isActive ? "active" : current.cancelExist ? "cancelled" : "done"}</dd>
          <dt>Order</dt><dd>${current.side} ${current.size} ${current.symbol} @ ${current.price} (${current.type})</dd>
          <dt>Filled</dt><dd class="mono">${current.dealSize}</dd>
          ${current.clientOid ? html`<dt>Client order id</dt><dd class="mono">${current.clientOid}</dd>` : null}
        </dl>`
      : html`<p class="muted">No longer in the engine's memory; the audit trail below is complete.</p>`}
    <p><a href=${href.search({ orderId: id })}>Search this order</a></p>
    <${EventsTable} events=${events} caption=${`${events.length} events, oldest first`} testid="lifecycle-table" />
    <${BookLinks} events=${events} />
  </section>`;
}
