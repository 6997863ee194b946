import { useState } from "preact/hooks";
import { ApiError, apiGet, apiPost, downloadFile, query, saveBlob } from "./api.ts";
import { html } from "./html.ts";
import { short } from "./format.ts";
import { href, navigate } from "./router.ts";

/**
 * Regulatory reports (docs/compliance-reports.md): large-value transactions of a day in Vietnam
 * time, and a suspicious-transaction report draft from an alert. Every preview and download is
 * recorded in the audit log with the SHA-256 of the file; the page shows that hash.
 */

type Kyc = { kycLevel: number; country: number; investorType: string; expiresAt: string; issuer: string; revoked: boolean } | null;
type LvCustomer = { identityHash: string; kyc: Kyc; wallets: string[]; dayTotalVnd: string; transactions: number };
type LvRow = { identityHash: string; wallet: string; time: string; timeVietnam: string; type: string; amountVnd: string; asset: string; assetQuantity: string; price: string; symbol: string; counterpartyIdentityHash: string; counterpartyWallet: string; reference: string; auditSeq: number };
type LargeValueReport = { reportDate: string; thresholdVnd: string; period: { from: string; to: string }; customers: LvCustomer[]; rows: LvRow[] };
type StrTx = { time: string; timeVietnam: string; event: string; identityHash: string; wallet: string; symbol: string; side: string; price: string; quantity: string; amountVnd: string; reference: string };
type StrDraft = {
  status: string;
  legalBasis: string;
  alert: { alertId: string; rule: string; severity: string; raisedAt: string; symbol: string; status: string };
  customers: Array<{ identityHash: string; kyc: Kyc; wallets: string[] }>;
  reasonsForSuspicion: { rule: string; summary: string };
  transactionsSummary: { events: number; trades: number; totalTradedVnd: string; firstTime: string; lastTime: string };
  transactions: StrTx[];
  actionsTaken: { alertStatus: string; reviewedBy: string; reviewNote: string; accountsFrozen: string[] };
  narrative: string;
};

const TYPE_WORDS: Record<string, string> = { "trade.buy": "Bought", "trade.sell": "Sold", deposit: "Deposit", withdrawal: "Withdrawal" };

function vnd(s: string): string {
  return /^\d+$/.test(s) ? `${s.replace(/\B(?=(\d{3})+(?!\d))/g, ".")} ₫` : s;
}

function errorText(err: unknown): string {
  return err instanceof ApiError ? `The gateway refused: ${err.message}` : `Could not reach the gateway: ${(err as Error).message}`;
}

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Yesterday in Vietnam time (UTC+7): the day a daily report is usually made for. */
function yesterdayInVietnam(): string {
  return new Date(Date.now() + 7 * 3_600_000 - 86_400_000).toISOString().slice(0, 10);
}

function KycText({ kyc }: { kyc: Kyc }) {
  if (!kyc) return html`<span class="muted">not on the registry</span>`;
  return html`<span>KYC level ${kyc.kycLevel} · country ${kyc.country} · ${kyc.investorType}${kyc.revoked ? html` · <strong>revoked</strong>` : null}</span>`;
}

function LargeValue({ params }: { params: URLSearchParams }) {
  const [date, setDate] = useState(params.get("date") ?? yesterdayInVietnam());
  const [threshold, setThreshold] = useState(params.get("threshold") ?? "");
  const [report, setReport] = useState<LargeValueReport | null>(null);
  const [json, setJson] = useState("");
  const [hash, setHash] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const q = () => ({ date, threshold: threshold.replace(/[.,\s]/g, "") });
  const preview = async (e?: Event) => {
    e?.preventDefault();
    setBusy(true);
    setError("");
    setSaved("");
    try {
      const r = await apiGet<LargeValueReport>(`/api/v1/compliance/reports/large-value${query({ ...q(), format: "json" })}`);
      const text = JSON.stringify(r);
      setReport(r);
      setJson(text);
      setHash(await sha256Hex(text));
      navigate(href.reports({ ...params.has("alert") ? { alert: params.get("alert")! } : {}, date, threshold: q().threshold }));
    } catch (err) {
      setReport(null);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const csv = async () => {
    setBusy(true);
    setError("");
    try {
      const name = `sen-large-value-${date}.csv`;
      const blob = await downloadFile(`/api/v1/compliance/reports/large-value${query({ ...q(), format: "csv" })}`, name);
      setSaved(`Saved ${name} (${blob.size.toLocaleString("en-US")} bytes, SHA-256 ${await sha256Hex(await blob.text())}); the audit log records this download with the same hash.`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const saveJson = () => {
    const name = `sen-large-value-${report!.reportDate}.json`;
    saveBlob(new Blob([json], { type: "application/json" }), name);
    setSaved(`Saved ${name}: the report previewed above, SHA-256 ${hash} as recorded in the audit log.`);
  };
  return html`<section class="rep-panel" aria-labelledby="rep-lv-h">
    <h3 id="rep-lv-h">Large-value transactions</h3>
    <p class="muted">Customers (e-IDs) whose trades, deposits and withdrawals in đồng add up to the threshold or more in one day, Vietnam time (UTC+7). Default threshold: 400.000.000 ₫ (Decision 11/2023/QĐ-TTg).</p>
    <form class="rep-form" onSubmit=${preview} aria-label="Large-value report">
      <label for="rep-date">Day (Vietnam time)<input id="rep-date" type="date" data-testid="rep-date" required value=${date} onInput=${(e: Event) => setDate((e.target as HTMLInputElement).value)} /></label>
      <label for="rep-threshold">Threshold (₫, empty: 400.000.000)<input id="rep-threshold" data-testid="rep-threshold" inputmode="numeric" placeholder="400.000.000" value=${threshold} onInput=${(e: Event) => setThreshold((e.target as HTMLInputElement).value)} /></label>
      <div class="buttons">
        <button type="submit" data-testid="rep-preview" disabled=${busy}>Preview</button>
        <button type="button" class="secondary" data-testid="rep-csv" disabled=${busy || !date} onClick=${csv}>Download CSV</button>
        <button type="button" class="secondary" data-testid="rep-json" disabled=${!report} onClick=${saveJson}>Download JSON</button>
      </div>
    </form>
    ${error ? html`<p class="error" role="alert" data-testid="rep-error">${error}</p>` : null}
    ${saved ? html`<p class="op-ok" role="status" data-testid="rep-saved">${saved}</p>` : null}
    ${report
      ? html`<div data-testid="rep-lv-result" data-customers=${report.customers.length} data-rows=${report.rows.length}>
          <p>${report.reportDate} (Vietnam time: ${report.period.from} to ${report.period.to} UTC) · threshold ${vnd(report.thresholdVnd)} ·
            <strong>${report.customers.length === 0 ? "no customer reached the threshold" : `${report.customers.length} customer${report.customers.length === 1 ? "" : "s"}, ${report.rows.length} transactions`}</strong></p>
          <p class="muted rep-hash">Recorded in the audit log · SHA-256 <span class="mono break" data-testid="rep-hash">${hash}</span></p>
          ${report.customers.length > 0
            ? html`<div class="table-wrap"><table data-testid="rep-customers">
                <caption>Customers</caption>
                <thead><tr><th scope="col">e-ID</th><th scope="col">Identity on the registry</th><th scope="col">Wallets</th><th scope="col" class="num">Day total</th><th scope="col" class="num">Transactions</th></tr></thead>
                <tbody>${report.customers.map(
                  (c) => html`<tr data-testid="rep-customer" data-identity=${c.identityHash}>
                    <td>${c.identityHash ? html`<a class="mono" href=${href.identity(c.identityHash)} title=${c.identityHash}>${short(c.identityHash)}</a>` : html`<span class="muted">none</span>`}</td>
                    <td><${KycText} kyc=${c.kyc} /></td>
                    <td class="mono">${c.wallets.map((w) => html`<span title=${w}>${short(w)}</span> `)}</td>
                    <td class="num" data-testid="rep-total">${vnd(c.dayTotalVnd)}</td>
                    <td class="num">${c.transactions}</td>
                  </tr>`,
                )}</tbody>
              </table></div>
              <div class="table-wrap"><table data-testid="rep-rows">
                <caption>Transactions</caption>
                <thead><tr><th scope="col">Time (Vietnam)</th><th scope="col">e-ID</th><th scope="col">Type</th><th scope="col" class="num">Amount</th><th scope="col">Asset</th><th scope="col">Counterparty</th><th scope="col">Reference</th></tr></thead>
                <tbody>${report.rows.map(
                  (r) => html`<tr data-testid="rep-row" data-type=${r.type}>
                    <td class="mono">${r.timeVietnam.replace("T", " ").replace("+07:00", "")}</td>
                    <td class="mono" title=${r.identityHash}>${short(r.identityHash)}</td>
                    <td>${TYPE_WORDS[r.type] ?? r.type}</td>
                    <td class="num">${vnd(r.amountVnd)}</td>
                    <td>${r.symbol ? `${r.assetQuantity} ${r.asset} @ ${vnd(r.price)}` : r.asset}</td>
                    <td class="mono" title=${r.counterpartyIdentityHash}>${short(r.counterpartyIdentityHash)}</td>
                    <td class="mono" title=${r.reference}>${short(r.reference, 8)}</td>
                  </tr>`,
                )}</tbody>
              </table></div>`
            : null}
        </div>`
      : null}
  </section>`;
}

function StrDraftPanel({ params }: { params: URLSearchParams }) {
  const [alertId, setAlertId] = useState(params.get("alert") ?? "");
  const [narrative, setNarrative] = useState("");
  const [draft, setDraft] = useState<StrDraft | null>(null);
  const [hash, setHash] = useState("");
  const [json, setJson] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState("");
  const path = () => `/api/v1/compliance/alerts/${encodeURIComponent(alertId.trim())}/str-draft`;
  const body = () => (narrative.trim() ? { narrative: narrative.trim() } : {});
  const make = async (e: Event) => {
    e.preventDefault();
    if (!alertId.trim()) return setError("Give the alert's id (open the alert and follow “Draft STR”).");
    setBusy(true);
    setError("");
    setSaved("");
    try {
      const d = await apiPost<StrDraft>(path(), body());
      const text = JSON.stringify(d);
      setDraft(d);
      setJson(text);
      setHash(await sha256Hex(text));
    } catch (err) {
      setDraft(null);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const csv = async () => {
    setBusy(true);
    setError("");
    try {
      const name = `sen-str-draft-${alertId.trim()}.csv`;
      const blob = await downloadFile(`${path()}?format=csv`, name, body());
      setSaved(`Saved ${name} (${blob.size.toLocaleString("en-US")} bytes, SHA-256 ${await sha256Hex(await blob.text())}); the audit log records it with the same hash.`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const saveJson = () => {
    const name = `sen-str-draft-${draft!.alert.alertId}.json`;
    saveBlob(new Blob([json], { type: "application/json" }), name);
    setSaved(`Saved ${name}: the draft shown below, SHA-256 ${hash} as recorded in the audit log.`);
  };
  return html`<section class="rep-panel" aria-labelledby="rep-str-h">
    <h3 id="rep-str-h">Suspicious-transaction report draft</h3>
    <p class="muted">Built from a surveillance alert and its evidence (AML Law 2022, Art. 26). A draft only: nothing is sent; you review, complete and file it.</p>
    <form class="rep-form" onSubmit=${make} aria-label="STR draft">
      <label for="rep-alert">Alert id<input id="rep-alert" class="mono" data-testid="rep-alert" maxlength="128" value=${alertId} onInput=${(e: Event) => setAlertId((e.target as HTMLInputElement).value)} /></label>
      <label for="rep-narrative" class="rep-wide">Your description (optional, goes into the draft)<textarea id="rep-narrative" data-testid="rep-narrative" rows="2" maxlength="4000" value=${narrative} onInput=${(e: Event) => setNarrative((e.target as HTMLTextAreaElement).value)}></textarea></label>
      <div class="buttons">
        <button type="submit" data-testid="rep-str-make" disabled=${busy}>Draft STR</button>
        <button type="button" class="secondary" data-testid="rep-str-csv" disabled=${busy || !alertId.trim()} onClick=${csv}>Download CSV</button>
        <button type="button" class="secondary" data-testid="rep-str-json" disabled=${!draft} onClick=${saveJson}>Download JSON</button>
      </div>
    </form>
    ${error ? html`<p class="error" role="alert" data-testid="rep-str-error">${error}</p>` : null}
    ${saved ? html`<p class="op-ok" role="status" data-testid="rep-str-saved">${saved}</p>` : null}
    ${draft
      ? html`<article class="rep-draft" data-testid="rep-str-draft" data-alert-id=${draft.alert.alertId}>
          <p class="rep-stamp" data-testid="rep-str-status">${draft.status}</p>
          <p class="muted rep-hash">Recorded in the audit log · SHA-256 <span class="mono break">${hash}</span></p>
          <dl class="facts">
            <dt>Legal basis</dt><dd>${draft.legalBasis}</dd>
            <dt>Alert</dt><dd><a class="mono" href=${href.alert(draft.alert.alertId)}>${draft.alert.alertId}</a> · ${draft.alert.severity} · raised ${draft.alert.raisedAt}</dd>
            <dt>Reason for suspicion</dt><dd data-testid="rep-str-rule">${draft.reasonsForSuspicion.rule}</dd>
            <dt>What was seen</dt><dd>${draft.reasonsForSuspicion.summary}</dd>
            <dt>Customers</dt><dd>${draft.customers.map((c) => html`<div><a class="mono" href=${href.identity(c.identityHash)} title=${c.identityHash}>${short(c.identityHash)}</a> · <${KycText} kyc=${c.kyc} /></div>`)}</dd>
            <dt>Transactions</dt><dd data-testid="rep-str-summary">${draft.transactionsSummary.trades} trades worth ${vnd(draft.transactionsSummary.totalTradedVnd)} between ${draft.transactionsSummary.firstTime} and ${draft.transactionsSummary.lastTime}</dd>
            <dt>Actions taken</dt><dd>Alert ${draft.actionsTaken.alertStatus}${draft.actionsTaken.reviewNote ? html` (<q>${draft.actionsTaken.reviewNote}</q>)` : null}${draft.actionsTaken.accountsFrozen.length ? ` · ${draft.actionsTaken.accountsFrozen.length} account(s) frozen` : " · no account frozen"}</dd>
            ${draft.narrative ? html`<dt>Description</dt><dd>${draft.narrative}</dd>` : null}
          </dl>
          <div class="table-wrap"><table>
            <caption>Evidence (${draft.transactions.length} events)</caption>
            <thead><tr><th scope="col">Time (Vietnam)</th><th scope="col">e-ID</th><th scope="col">Market</th><th scope="col">Side</th><th scope="col" class="num">Quantity</th><th scope="col" class="num">Price</th><th scope="col" class="num">Value</th></tr></thead>
            <tbody>${draft.transactions.map(
              (t) => html`<tr data-testid="rep-str-tx">
                <td class="mono">${t.timeVietnam.replace("T", " ").replace("+07:00", "")}</td>
                <td class="mono" title=${t.identityHash}>${short(t.identityHash)}</td>
                <td>${t.symbol}</td><td>${t.side}</td><td class="num">${t.quantity}</td><td class="num">${vnd(t.price)}</td><td class="num">${vnd(t.amountVnd)}</td>
              </tr>`,
            )}</tbody>
          </table></div>
        </article>`
      : null}
  </section>`;
}

/** Regulatory reports: large-value transactions per day and suspicious-transaction report drafts. */
export function ReportsView({ params }: { params: URLSearchParams }) {
  return html`<section data-testid="reports-view" class="rep-view">
    <h2>Reports</h2>
    <p class="muted">Each report you preview or download is recorded in the audit log (who, which report, its parameters, its rows and the SHA-256 of the file).</p>
    <${LargeValue} params=${params} />
    <${StrDraftPanel} params=${params} />
  </section>`;
}
