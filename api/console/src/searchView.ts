import { useEffect, useRef, useState } from "preact/hooks";
import { apiGet, apiPost, download, query, saveUrl } from "./api.ts";
import { html } from "./html.ts";
import { parseTimeInput, plural } from "./format.ts";
import { href, navigate } from "./router.ts";
import { EventsTable, LoadMore } from "./eventsTable.ts";
import { eventTypeWords } from "./eventWords.ts";
import { EVENT_TYPES, type AuditEvent, type Page } from "./types.ts";
import { useRemote } from "./useRemote.ts";

const TEXT_FILTERS = [
  { key: "identityHash", label: "Identity hash (e-ID)", placeholder: "0x… (32 bytes)" },
  { key: "account", label: "Account", placeholder: "0x… wallet address" },
  { key: "wallet", label: "Wallet", placeholder: "0x… wallet address" },
  { key: "symbol", label: "Symbol", placeholder: "GOLD-VND" },
  { key: "orderId", label: "Order id", placeholder: "" },
  { key: "from", label: "From (UTC, inclusive)", placeholder: "2026-11-23T10:00:00Z" },
  { key: "to", label: "To (UTC, exclusive)", placeholder: "2026-11-23T11:00:00.000000Z" },
] as const;
const FILTER_KEYS = ["identityHash", "account", "wallet", "symbol", "orderId", "type", "from", "to"] as const;

type Filters = Record<(typeof FILTER_KEYS)[number], string>;

function filtersOf(params: URLSearchParams): Filters {
  const f = {} as Filters;
  for (const k of FILTER_KEYS) f[k] = params.get(k) ?? "";
  return f;
}

/** Search the audit trail by any filter; cursor pages; CSV / JSONL export of every match. */
export function SearchView({ params }: { params: URLSearchParams }) {
  const applied = filtersOf(params);
  const order = params.get("order") === "asc" ? "asc" : "desc";
  const limit = params.get("limit") ?? "100";
  const [form, setForm] = useState<Filters & { order: string; limit: string }>({ ...applied, order, limit });
  const key = params.toString();
  // The form follows the URL only when the URL changes (back/forward, a link): resetting it on
  // mount as well would wipe what the officer typed before the first effect ran.
  const shownKey = useRef(key);
  useEffect(() => {
    if (shownKey.current === key) return;
    shownKey.current = key;
    setForm({ ...filtersOf(params), order, limit });
  }, [key]);
  const hasFilter = FILTER_KEYS.some((k) => applied[k] !== "");

  const q = { ...applied, order, limit };
  const r = useRemote(() => (hasFilter ? apiGet<Page<AuditEvent>>(`/api/v1/compliance/events${query(q)}`) : Promise.resolve(undefined)), [key]);
  const [extra, setExtra] = useState<{ items: AuditEvent[]; cursor?: string; loading: boolean }>({ items: [], loading: false });
  useEffect(() => setExtra({ items: [], loading: false }), [r.data]);
  const [exporting, setExporting] = useState("");
  const [exported, setExported] = useState<{ ok: boolean; text: string } | null>(null);

  const submit = (e: Event) => {
    e.preventDefault();
    const next: Record<string, string> = {};
    for (const k of FILTER_KEYS) next[k] = k === "from" || k === "to" ? parseTimeInput(form[k]) : form[k].trim();
    next.order = form.order;
    next.limit = form.limit;
    navigate(href.search(next));
  };
  const more = async () => {
    const cursor = extra.cursor ?? r.data?.nextCursor;
    if (!cursor) return;
    setExtra((x) => ({ ...x, loading: true }));
    const page = await apiGet<Page<AuditEvent>>(`/api/v1/compliance/events${query({ ...q, cursor })}`);
    setExtra((x) => ({ items: [...x.items, ...page.items], cursor: page.nextCursor ?? "", loading: false }));
  };
  const exportAs = async (format: "csv" | "jsonl") => {
    setExporting(format);
    setExported(null);
    const file = `sen-audit-${new Date().toISOString().replaceAll(":", "")}.${format}`;
    try {
      if (cursor) {
        // More matches than the page holds, maybe millions: the browser follows a single-use link and
        // streams the file to disk (never into the tab), so no count exists here: the lower bound shown is.
        const filters = Object.fromEntries(Object.entries(applied).filter(([, v]) => v !== ""));
        const link = await apiPost<{ url: string }>("/api/v1/compliance/events/export/link", { ...filters, format });
        saveUrl(link.url, file);
        setExported({ ok: true, text: `Export of more than ${plural(items.length, "event")} started (file ${file}); your browser saves it.` });
        return;
      }
      // Every match is on the page: a small file, fetched and counted before it is saved.
      const blob = await download(`/api/v1/compliance/events/export${query({ ...applied, format })}`, file);
      const n = recordCount(await blob.text(), format);
      setExported({ ok: true, text: `Exported ${plural(n, "event")} (file ${file}, ${plural(blob.size, "byte")}).` });
    } catch (err) {
      setExported({ ok: false, text: `Export failed: ${(err as Error).message}` });
    } finally {
      setExporting("");
    }
  };
  const set = (k: string) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const types = new Set(form.type.split(",").filter(Boolean));
  const items = [...(r.data?.items ?? []), ...extra.items];
  const cursor = extra.cursor === undefined ? r.data?.nextCursor : extra.cursor || undefined;

  return html`<section aria-labelledby="search-h">
    <h2 id="search-h">Search the audit trail</h2>
    <form class="search" data-testid="search-form" onSubmit=${submit}>
      ${TEXT_FILTERS.map(
        (f) => html`<label>${f.label}<input name=${f.key} data-testid=${`search-${f.key}`} value=${form[f.key]} placeholder=${f.placeholder} autocomplete="off" spellcheck="false" onInput=${set(f.key)} /></label>`,
      )}
      <label class="types">Event types (Ctrl/⌘-click for several)
        <select multiple size="6" data-testid="search-type" onChange=${(e: Event) => setForm({ ...form, type: [...(e.target as HTMLSelectElement).selectedOptions].map((o) => o.value).join(",") })}>
          ${EVENT_TYPES.map((t) => html`<option value=${t} selected=${types.has(t)}>${eventTypeWords(t)} (${t})</option>`)}
        </select>
      </label>
      <label>Order
        <select data-testid="search-order" value=${form.order} onChange=${set("order")}><option value="desc">newest first</option><option value="asc">oldest first</option></select>
      </label>
      <label>Page size<input type="number" min="1" max="1000" data-testid="search-limit" value=${form.limit} onInput=${set("limit")} /></label>
      <div class="buttons">
        <button type="submit" data-testid="search-submit">Search</button>
        <button type="button" class="secondary" onClick=${() => navigate(href.search())}>Clear</button>
      </div>
    </form>
    ${hasFilter
      ? html`<div class="buttons export">
          <button type="button" class="secondary" data-testid="export-csv" disabled=${exporting !== ""} onClick=${() => exportAs("csv")}>${exporting === "csv" ? "Exporting…" : "Export CSV"}</button>
          <button type="button" class="secondary" data-testid="export-jsonl" disabled=${exporting !== ""} onClick=${() => exportAs("jsonl")}>${exporting === "jsonl" ? "Exporting…" : "Export JSONL"}</button>
        </div>`
      : html`<p class="muted">Give at least one filter.</p>`}
    ${exported ? html`<p class=${exported.ok ? "pc-ok" : "error"} role=${exported.ok ? "status" : "alert"} data-testid="export-result" data-ok=${String(exported.ok)}>${exported.text}</p>` : null}
    ${r.error ? html`<p class="error" role="alert" data-testid="search-error">${r.error.message}</p>` : null}
    ${r.loading && hasFilter ? html`<p class="muted">Searching…</p>` : null}
    ${r.data ? html`<div data-testid="search-results" data-count=${items.length}><${EventsTable} events=${items} caption=${`${items.length} events${cursor ? " (more available)" : ""}`} /></div>` : null}
    <${LoadMore} cursor=${cursor} loading=${extra.loading} onMore=${more} />
  </section>`;
}

/** Records in an export: JSONL lines, or CSV rows after the header (line breaks inside quoted cells do not count). */
export function recordCount(text: string, format: "csv" | "jsonl"): number {
  if (format === "jsonl") return text.split("\n").filter((l) => l.trim() !== "").length;
  let rows = 0;
  let quoted = false;
  let content = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    if (c === "\n" && !quoted) {
      if (content) rows++;
      content = false;
    } else if (c !== "\r") content = true;
  }
  if (content) rows++;
  return Math.max(0, rows - 1);
}
