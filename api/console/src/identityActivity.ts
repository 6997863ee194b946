import { useEffect, useState } from "preact/hooks";
import { apiGet, query } from "./api.ts";
import { html } from "./html.ts";
import { href } from "./router.ts";
import { EventsTable, LoadMore } from "./eventsTable.ts";
import type { AuditEvent, IdentityActivity } from "./types.ts";
import { useRemote } from "./useRemote.ts";

/** Everything one e-ID did, across all its wallets, newest first. */
export function IdentityActivityView({ hash }: { hash: string }) {
  const path = `/api/v1/compliance/identities/${encodeURIComponent(hash)}/activity`;
  const r = useRemote(() => apiGet<IdentityActivity>(path), [hash]);
  const [extra, setExtra] = useState<{ items: AuditEvent[]; wallets: string[]; cursor?: string; loading: boolean }>({ items: [], wallets: [], loading: false });
  useEffect(() => setExtra({ items: [], wallets: [], loading: false }), [r.data]);
  if (r.error) return html`<section><h2>Identity</h2><p class="error" role="alert">${r.error.message}</p></section>`;
  if (!r.data) return html`<p class="muted">Loading…</p>`;
  const wallets = [...new Set([...r.data.wallets, ...extra.wallets].map((w) => w.toLowerCase()))];
  const items = [...r.data.items, ...extra.items];
  const cursor = extra.cursor === undefined ? r.data.nextCursor : extra.cursor || undefined;
  const more = async () => {
    if (!cursor) return;
    setExtra((x) => ({ ...x, loading: true }));
    const page = await apiGet<IdentityActivity>(`${path}${query({ cursor })}`);
    setExtra((x) => ({ items: [...x.items, ...page.items], wallets: [...x.wallets, ...page.wallets], cursor: page.nextCursor ?? "", loading: false }));
  };
  return html`<section aria-labelledby="identity-h" data-testid="identity-activity" data-identity=${r.data.identityHash}>
    <h2 id="identity-h">Identity <code class="break">${r.data.identityHash}</code></h2>
    <p>Wallets seen (${wallets.length}):
      <span data-testid="identity-wallets">${wallets.map((w) => html`<a class="mono chip" href=${href.search({ wallet: w })} data-wallet=${w}>${w}</a> `)}</span>
    </p>
    <p><a href=${href.search({ identityHash: r.data.identityHash })}>Search with filters / export</a></p>
    <${EventsTable} events=${items} caption=${`${items.length} events, newest first`} testid="identity-table" />
    <${LoadMore} cursor=${cursor} loading=${extra.loading} onMore=${more} />
  </section>`;
}
