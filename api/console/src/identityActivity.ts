import { useEffect, useState } from "preact/hooks";
import { apiGet, query } from "./api.ts";
import { html } from "./html.ts";
import { formatTime, short } from "./format.ts";
import { href } from "./router.ts";
import { EventsTable, LoadMore } from "./eventsTable.ts";
import type { AuditEvent, IdentityActivity, IdentityAttributes } from "./types.ts";
import { useRemote } from "./useRemote.ts";

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The e-ID's attributes as the IdentityRegistry holds them on chain, in words. */
function Attributes({ hash }: { hash: string }) {
  const r = useRemote(() => apiGet<IdentityAttributes>(`/api/v1/compliance/identities/${encodeURIComponent(hash)}`), [hash]);
  if (r.error) return html`<div class="idattr" data-testid="idattr-error"><h3>e-ID on chain</h3><p class="error" role="alert">${r.error.message}</p></div>`;
  if (!r.data) return html`<p class="muted">Reading the e-ID registry on chain…</p>`;
  const a = r.data;
  const bound = a.wallets.filter((w) => w.bound);
  const former = a.wallets.filter((w) => !w.bound);
  return html`<div class="idattr" data-testid="idattr" data-verified=${String(a.verified)} data-revoked=${String(a.revoked)} data-expired=${String(a.expired)}>
    <h3>e-ID on chain
      ${a.verified
        ? html`<span class="badge good" data-testid="idattr-status">Verified</span>`
        : html`<span class="badge bad" data-testid="idattr-status">Not verified: ${a.notVerifiedBecause.join(", ")}</span>`}
    </h3>
    <dl class="facts idattr-facts">
      <dt>KYC level</dt><dd data-testid="idattr-kyc" data-level=${a.kycLevel.level}>${capital(a.kycLevel.name)}</dd>
      <dt>Country</dt><dd data-testid="idattr-country" data-code=${a.country.code}>${a.country.name} <span class="muted">(${a.country.alpha2 ? `${a.country.alpha2} · ` : ""}ISO ${String(a.country.code).padStart(3, "0")})</span></dd>
      <dt>Investor type</dt><dd data-testid="idattr-investor" data-code=${a.investorType.code}>${capital(a.investorType.name)} investor</dd>
      <dt>Expires</dt><dd data-testid="idattr-expiry"><span class="mono">${formatTime(a.expiresAt)}</span>${a.expired ? html` <span class="badge bad" data-testid="idattr-expired">expired</span>` : null}</dd>
      <dt>Issuer</dt><dd><span class="mono break" data-testid="idattr-issuer">${a.issuer.address}</span> ${a.issuer.trusted ? html`<span class="badge good">trusted issuer</span>` : html`<span class="badge bad">no longer a trusted issuer</span>`}</dd>
      ${a.attestedAt ? html`<dt>Attested</dt><dd class="mono">${formatTime(a.attestedAt)}</dd>` : null}
      <dt>Revoked</dt>
      <dd data-testid="idattr-revoked">${a.revoked
        ? html`<span class="badge bad">revoked</span> ${a.revokedByGovernance === true ? "by governance (the issuer cannot re-attest until governance lifts it)" : a.revokedByGovernance === false ? "by its issuer" : ""}${a.revokedBy ? html` <span class="mono" title=${a.revokedBy}>${short(a.revokedBy)}</span>` : null}${a.revokedAt ? html` on <span class="mono">${formatTime(a.revokedAt)}</span>` : null}`
        : "No"}</dd>
      <dt>Bound wallets (${bound.length})</dt>
      <dd data-testid="idattr-wallets">${bound.length
        ? bound.map((w) => html`<a class="mono chip idattr-wallet" href=${href.search({ wallet: w.wallet })} data-wallet=${w.wallet} title=${w.boundAt ? `bound since ${formatTime(w.boundAt)}` : undefined}>${w.wallet}</a> `)
        : html`<span class="muted">none</span>`}</dd>
      ${former.length
        ? html`<dt>Formerly bound</dt><dd data-testid="idattr-former">${former.map((w) => html`<a class="mono chip idattr-wallet idattr-former" href=${href.search({ wallet: w.wallet })} data-wallet=${w.wallet}>${w.wallet}</a> <span class="muted">unbound ${w.unboundAt ? formatTime(w.unboundAt) : ""}</span> `)}</dd>`
        : null}
    </dl>
    <p class="muted idattr-source">Read from the IdentityRegistry <span class="mono" title=${a.registry}>${short(a.registry)}</span> (chain ${a.chainId}) at block ${a.block}, ${formatTime(a.blockTime)}. <button type="button" class="secondary" data-testid="idattr-reload" onClick=${r.reload}>Read again</button></p>
  </div>`;
}

/** One e-ID: its attributes on chain, then everything it did across all its wallets, newest first. */
export function IdentityActivityView({ hash }: { hash: string }) {
  const path = `/api/v1/compliance/identities/${encodeURIComponent(hash)}/activity`;
  const r = useRemote(() => apiGet<IdentityActivity>(path), [hash]);
  const [extra, setExtra] = useState<{ items: AuditEvent[]; wallets: string[]; cursor?: string; loading: boolean }>({ items: [], wallets: [], loading: false });
  useEffect(() => setExtra({ items: [], wallets: [], loading: false }), [r.data]);
  const head = html`<h2 id="identity-h">Identity <code class="break">${hash}</code></h2><${Attributes} hash=${hash} />`;
  if (r.error) return html`<section aria-labelledby="identity-h">${head}<h3>Activity</h3><p class="error" role="alert">${r.error.message}</p></section>`;
  if (!r.data) return html`<section aria-labelledby="identity-h">${head}<p class="muted">Loading…</p></section>`;
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
    ${head}
    <h3>Activity</h3>
    <p>Wallets seen in the audit trail (${wallets.length}):
      <span data-testid="identity-wallets">${wallets.map((w) => html`<a class="mono chip" href=${href.search({ wallet: w })} data-wallet=${w}>${w}</a> `)}</span>
    </p>
    <p><a href=${href.search({ identityHash: r.data.identityHash })}>Search with filters / export</a></p>
    <${EventsTable} events=${items} caption=${`${items.length} events, newest first`} testid="identity-table" />
    <${LoadMore} cursor=${cursor} loading=${extra.loading} onMore=${more} />
  </section>`;
}
