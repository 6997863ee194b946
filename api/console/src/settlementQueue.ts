import { useEffect, useState } from "preact/hooks";
import { apiGet, query } from "./api.ts";
import { html } from "./html.ts";
import { formatTime, short } from "./format.ts";
import { href } from "./router.ts";
import { IdentityLink, LoadMore } from "./eventsTable.ts";
import type { OpenSettlement, ResolvedSettlement, SettlementList, SettlementSide } from "./types.ts";
import { useRemote } from "./useRemote.ts";

/** `ms` as the largest two units: "3 d 4 h", "12 min", "40 s". */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const parts: Array<[number, string]> = [[Math.floor(s / 86_400), "d"], [Math.floor(s / 3600) % 24, "h"], [Math.floor(s / 60) % 60, "min"], [s % 60, "s"]];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return "0 s";
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, u]) => `${n} ${u}`).join(" ");
}

function Party({ side }: { side: SettlementSide }) {
  return html`<span class="squeue-party"><a class="mono" href=${href.search({ account: side.account })} title=${side.account}>${short(side.account)}</a>${side.identityHash
    ? html` <span class="muted">e-ID</span> <${IdentityLink} hash=${side.identityHash} />`
    : null}</span>`;
}

function Reason({ reasonText, reason }: { reasonText: string; reason: string }) {
  return html`<span class="squeue-reason">${reasonText}</span><br /><code class="squeue-raw" title="The vault's revert, decoded">${reason}</code>`;
}

/** The trade id shortened (the full one in the title), the symbol, size and value under it. */
function TradeCell({ t, link }: { t: OpenSettlement | ResolvedSettlement; link?: string }) {
  const id = html`<span class="mono" title=${t.tradeId}>${short(t.tradeId, 4)}</span>`;
  return html`${link ? html`<a href=${link} title=${`Trade ${t.tradeId}: the order book at its failure`}>${id}</a>` : id}<br /><span>${t.symbol}</span> <span class="mono">${t.size}</span><br /><span class="mono muted">${t.amount} ${t.currency}</span>`;
}

function Sides({ t }: { t: OpenSettlement | ResolvedSettlement }) {
  return html`<span class="squeue-side-label">Buyer</span> <${Party} side=${t.buyer} /><br /><span class="squeue-side-label">Seller</span> <${Party} side=${t.seller} />`;
}

function OpenTable({ list }: { list: SettlementList<OpenSettlement> }) {
  if (list.items.length === 0) return html`<p class="muted" data-testid="squeue-open-empty">No settlement is waiting: every trade the vault refused has been retried or reversed.</p>`;
  const asOf = Date.parse(list.asOf);
  return html`<div class="table-wrap squeue-wrap">
    <table class="squeue" data-testid="squeue-open" data-rows=${list.items.length}>
      <thead><tr><th scope="col">Trade</th><th scope="col">Sides</th><th scope="col">Failed (UTC)</th><th scope="col">Why the vault refused</th></tr></thead>
      <tbody>
        ${list.items.map(
          (t) => html`<tr key=${t.tradeId} data-testid="squeue-open-row" data-trade-id=${t.tradeId}>
            <td data-label="Trade"><${TradeCell} t=${t} link=${t.jseq ? href.book(t.symbol, { seq: String(t.jseq) }) : undefined} /></td>
            <td data-label="Sides"><${Sides} t=${t} /></td>
            <td data-label="Failed"><span class="mono">${formatTime(t.failedAt)}</span><br />waiting <strong data-testid="squeue-age">${ageText(asOf - Date.parse(t.failedAt))}</strong></td>
            <td data-label="Why" class="squeue-why" data-testid="squeue-reason"><${Reason} reasonText=${t.reasonText} reason=${t.reason} /></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function ResolvedTable({ items }: { items: ResolvedSettlement[] }) {
  if (items.length === 0) return html`<p class="muted" data-testid="squeue-resolved-empty">No failed settlement has been resolved yet.</p>`;
  return html`<div class="table-wrap squeue-wrap">
    <table class="squeue" data-testid="squeue-resolved" data-rows=${items.length}>
      <thead><tr><th scope="col">Trade</th><th scope="col">Resolution</th><th scope="col">Operator's note</th><th scope="col">Sides</th><th scope="col">Why it had failed</th></tr></thead>
      <tbody>
        ${items.map(
          (t) => html`<tr key=${t.auditSeq} data-testid="squeue-resolved-row" data-trade-id=${t.tradeId} data-action=${t.action}>
            <td data-label="Trade"><${TradeCell} t=${t} /></td>
            <td data-label="Resolution">${t.action === "reverse"
              ? html`<span class="status squeue-reversed">Reversed</span> <span class="muted">undone on the ledger</span>`
              : html`<span class="status squeue-retried">Retried</span> <span class="muted">sent to the vault again</span>`}
              <br />by <a class="mono" href=${href.search({ account: t.by })} title=${t.by} data-testid="squeue-by">${short(t.by)}</a>
              <br /><span class="mono">${formatTime(t.resolvedAt)}</span></td>
            <td data-label="Note" class="squeue-note" data-testid="squeue-note">${t.note ?? html`<span class="muted">—</span>`}</td>
            <td data-label="Sides"><${Sides} t=${t} /></td>
            <td data-label="Why" class="squeue-why"><${Reason} reasonText=${t.reasonText} reason=${t.reason} /></td>
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** Settlements the vault refused, waiting for an operator's retry or reversal, and how each was resolved. Read only: operators act. */
export function SettlementQueueView() {
  const [tick, setTick] = useState(0);
  const open = useRemote(() => apiGet<SettlementList<OpenSettlement>>(`/api/v1/compliance/settlements${query({ status: "open" })}`), [tick]);
  const resolved = useRemote(() => apiGet<SettlementList<ResolvedSettlement>>(`/api/v1/compliance/settlements${query({ status: "resolved", limit: 50 })}`), [tick]);
  const [extra, setExtra] = useState<{ items: ResolvedSettlement[]; cursor?: string; loading: boolean }>({ items: [], loading: false });
  useEffect(() => setExtra({ items: [], loading: false }), [resolved.data]);
  const cursor = extra.cursor === undefined ? resolved.data?.nextCursor : extra.cursor || undefined;
  const more = async () => {
    if (!cursor) return;
    setExtra((x) => ({ ...x, loading: true }));
    const page = await apiGet<SettlementList<ResolvedSettlement>>(`/api/v1/compliance/settlements${query({ status: "resolved", limit: 50, cursor })}`);
    setExtra((x) => ({ items: [...x.items, ...page.items], cursor: page.nextCursor ?? "", loading: false }));
  };
  return html`<section aria-labelledby="squeue-h" data-testid="settlement-queue">
    <h2 id="squeue-h">Settlement failures</h2>
    <p class="muted">Trades the settlement vault refused on chain. Each waits for an operator, who retries it (once what refused it is fixed) or reverses it on the ledger; this view only shows them.</p>
    <div class="buttons"><button type="button" class="secondary" data-testid="squeue-refresh" onClick=${() => setTick((t) => t + 1)}>Refresh</button></div>
    <h3>Waiting for an operator${open.data ? ` (${open.data.items.length})` : ""}</h3>
    ${open.error ? html`<p class="error" role="alert">${open.error.message}</p>` : open.data ? html`<${OpenTable} list=${open.data} />` : html`<p class="muted">Loading…</p>`}
    <h3>Resolved, newest first</h3>
    ${resolved.error
      ? html`<p class="error" role="alert">${resolved.error.message}</p>`
      : resolved.data
        ? html`<${ResolvedTable} items=${[...resolved.data.items, ...extra.items]} /><${LoadMore} cursor=${cursor} loading=${extra.loading} onMore=${more} />`
        : html`<p class="muted">Loading…</p>`}
  </section>`;
}
