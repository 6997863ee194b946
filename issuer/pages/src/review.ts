import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { apiGet, apiPost, setToken, type Application, type PersonalRecord } from "./api.ts";
import { html } from "./html.ts";
import { formatTime, LangToggle, useLang, type Lang, type MsgKey, type T } from "./i18n.ts";
import { signIn, WalletError, type Session } from "./wallet.ts";

/**
 * The issuer officers' page: the review queue (with the provider that verified each
 * application), reading an application's personal data for a stated reason, approving or
 * rejecting it, the attestations about to lapse, and revocation.
 */
const POLL_MS = 2000;
const YEAR_MS = 365 * 86400_000;

function errorText(err: unknown, t: T): string {
  if (err instanceof WalletError) return t(err.key);
  return err instanceof Error ? err.message : String(err);
}

function ProviderCell({ a, t }: { a: Application; t: T }) {
  return html`<span>${a.provider} ${a.providerProduction ? null : html`<span class="badge dev" data-testid="dev-badge">${t("devBadge")}</span>`}</span>`;
}

function Detail({ a, t, lang, onDone }: { a: Application; t: T; lang: Lang; onDone: (msg: string) => void }) {
  const [why, setWhy] = useState("");
  const [record, setRecord] = useState<PersonalRecord | null>(null);
  const [kycLevel, setKycLevel] = useState("2");
  const [investorType, setInvestorType] = useState<string>(a.investorType);
  const [expiry, setExpiry] = useState(() => new Date(Date.now() + YEAR_MS).toISOString().slice(0, 10));
  const [rejectWhy, setRejectWhy] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const run = async (f: () => Promise<void>) => {
    setBusy(true);
    setError("");
    try {
      await f();
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  };
  const read = () => run(async () => setRecord(await apiGet<PersonalRecord>(`/review/applications/${encodeURIComponent(a.id)}?reason=${encodeURIComponent(why)}`)));
  const approve = () =>
    run(async () => {
      // The start of that day in Viet Nam, where the attestation is used.
      const expiresAt = Math.floor(Date.parse(`${expiry}T00:00:00+07:00`) / 1000);
      const r = await apiPost<Application>(`/review/applications/${encodeURIComponent(a.id)}/approve`, { kycLevel: Number(kycLevel), investorType, expiresAt });
      onDone(t("done", { s: `${r.status} ${r.txHash ?? ""}` }));
    });
  const reject = () =>
    run(async () => {
      const r = await apiPost<Application>(`/review/applications/${encodeURIComponent(a.id)}/reject`, { reason: rejectWhy });
      onDone(t("done", { s: r.status }));
    });
  return html`<div class="card" data-testid="detail" style="margin-top: 0.5rem">
    <div class="field">
      <label for="why">${t("readReason")}</label>
      <div class="row"><input id="why" name="why" value=${why} onInput=${(e: Event) => setWhy((e.target as HTMLInputElement).value)} style="flex: 1" />
      <button type="button" class="secondary" data-testid="read" disabled=${busy} onClick=${read}>${t("read")}</button></div>
    </div>
    ${record
      ? html`<dl data-testid="personal-data">
          <dt>${t("idNumber")}</dt><dd class="mono">${record.data.idNumber}</dd>
          <dt>${t("fullName")}</dt><dd>${record.data.fullName}</dd>
          <dt>${t("dateOfBirth")}</dt><dd>${record.data.dateOfBirth}</dd>
          <dt>${t("sex")}</dt><dd>${t(record.data.sex)}</dd>
          <dt>${t("nationality")}</dt><dd>${record.data.nationality}</dd>
          <dt>${t("chipDataHash")}</dt><dd class="mono break">${record.data.chipDataHash}</dd>
          <dt>${t("sessionId")}</dt><dd>${record.data.verification.sessionId}</dd>
          <dt>${t("faceLiveness")}</dt><dd>${(a.verification.faceMatchBps / 100).toFixed(2)}% · ${a.verification.liveness ? "✓" : "✗"} · ${a.verification.chipVerified ? "✓" : "✗"}</dd>
          ${record.data.investorEvidence
            ? html`<dt>${t("evidenceKind")}</dt><dd>${record.data.investorEvidence.kind}: ${record.data.investorEvidence.description} <span class="mono break">${record.data.investorEvidence.documentHash}</span></dd>`
            : null}
        </dl>`
      : null}
    <div class="grid" style="margin-top: 0.75rem">
      <div class="field"><label for="kyc">${t("kycLevel")}</label>
        <select id="kyc" name="kycLevel" value=${kycLevel} onChange=${(e: Event) => setKycLevel((e.target as HTMLSelectElement).value)}><option value="1">1</option><option value="2">2</option></select></div>
      <div class="field"><label for="inv">${t("investorType")}</label>
        <select id="inv" name="investorType" value=${investorType} onChange=${(e: Event) => setInvestorType((e.target as HTMLSelectElement).value)}>
          <option value="retail">${t("retail")}</option><option value="professional">${t("professional")}</option><option value="institutional">${t("institutional")}</option>
        </select></div>
      <div class="field"><label for="expiry">${t("expiry")}</label>
        <input id="expiry" name="expiry" type="date" value=${expiry} onInput=${(e: Event) => setExpiry((e.target as HTMLInputElement).value)} /></div>
    </div>
    <button type="button" data-testid="approve" disabled=${busy} onClick=${approve}>${t("approve")}</button>
    <div class="field" style="margin-top: 0.75rem">
      <label for="reject-why">${t("rejectReason")}</label>
      <div class="row"><input id="reject-why" name="rejectReason" value=${rejectWhy} onInput=${(e: Event) => setRejectWhy((e.target as HTMLInputElement).value)} style="flex: 1" />
      <button type="button" class="danger" data-testid="reject" disabled=${busy} onClick=${reject}>${t("reject")}</button></div>
    </div>
    ${error ? html`<p class="error" role="alert" data-testid="detail-error">${error}</p>` : null}
    <p class="muted">${formatTime(a.submittedAt, lang)}</p>
  </div>`;
}

function Queue({ t, lang }: { t: T; lang: Lang }) {
  const [queue, setQueue] = useState<Application[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [msg, setMsg] = useState("");
  const [error, setError] = useState("");
  const load = async () => {
    try {
      setQueue(await apiGet<Application[]>("/review/queue"));
      setError("");
    } catch (err) {
      setError(errorText(err, t));
    }
  };
  useEffect(() => {
    void load();
    const timer = setInterval(load, POLL_MS);
    return () => clearInterval(timer);
  }, []);
  return html`<section class="card" data-testid="queue">
    <div class="row" style="justify-content: space-between"><h2>${t("queue")}</h2><button type="button" class="secondary" onClick=${load}>${t("refresh")}</button></div>
    ${msg ? html`<p class="ok" role="status" data-testid="review-result">${msg}</p>` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${queue && queue.length === 0 ? html`<p>${t("queueEmpty")}</p>` : null}
    <ul class="items">
      ${queue?.map(
        (a) => html`<li data-testid="queue-item" data-id=${a.id} data-wallet=${a.wallet}>
          <div class="row" style="justify-content: space-between">
            <span class="mono break">${a.wallet}</span>
            <button type="button" class="secondary" data-testid="open" onClick=${() => setOpen(open === a.id ? null : a.id)}>${t("open")}</button>
          </div>
          <div class="muted">${formatTime(a.submittedAt, lang)} · ${t(a.investorType)} · ${a.nationality} · ${t(`kind.${a.kind}` as MsgKey)}</div>
          <div>${t("provider")}: <${ProviderCell} a=${a} t=${t} /></div>
          ${open === a.id
            ? html`<${Detail} a=${a} t=${t} lang=${lang} onDone=${(m: string) => {
                setMsg(m);
                setOpen(null);
                void load();
              }} />`
            : null}
        </li>`,
      )}
    </ul>
  </section>`;
}

function Expiring({ t, lang }: { t: T; lang: Lang }) {
  const [days, setDays] = useState("30");
  const [list, setList] = useState<Application[] | null>(null);
  const [identity, setIdentity] = useState("");
  const [why, setWhy] = useState("");
  const [msg, setMsg] = useState("");
  const [error, setError] = useState("");
  const load = async () => {
    setError("");
    try {
      setList(await apiGet<Application[]>(`/review/expiring?withinDays=${encodeURIComponent(days)}`));
    } catch (err) {
      setError(errorText(err, t));
    }
  };
  const revoke = async () => {
    setError("");
    setMsg("");
    try {
      const r = await apiPost<{ txHash: string }>(`/review/identities/${encodeURIComponent(identity)}/revoke`, { reason: why });
      setMsg(t("done", { s: r.txHash }));
    } catch (err) {
      setError(errorText(err, t));
    }
  };
  return html`<section class="card" data-testid="expiring">
    <h2>${t("expiring")}</h2>
    <div class="row"><label for="days">${t("withinDays")}</label><input id="days" value=${days} inputmode="numeric" style="width: 6rem" onInput=${(e: Event) => setDays((e.target as HTMLInputElement).value)} />
      <button type="button" class="secondary" data-testid="load-expiring" onClick=${load}>${t("load")}</button></div>
    ${list && list.length === 0 ? html`<p>${t("none")}</p>` : null}
    <ul class="items">
      ${list?.map(
        (a) => html`<li data-testid="expiring-item" data-wallet=${a.wallet}>
          <span class="mono break">${a.wallet}</span> · ${t("expires")} ${a.expiresAt ? formatTime(a.expiresAt * 1000, lang) : "—"}
          <button type="button" class="secondary" data-testid="pick-revoke" onClick=${() => setIdentity(a.identityHash)}>${t("revoke")}…</button>
        </li>`,
      )}
    </ul>
    <h2 style="margin-top: 1rem">${t("revokeTitle")}</h2>
    <div class="field"><label for="identity">${t("identityHash")}</label><input id="identity" class="mono" value=${identity} onInput=${(e: Event) => setIdentity((e.target as HTMLInputElement).value)} /></div>
    <div class="field"><label for="revoke-why">${t("revokeReason")}</label><input id="revoke-why" value=${why} onInput=${(e: Event) => setWhy((e.target as HTMLInputElement).value)} /></div>
    <button type="button" class="danger" data-testid="revoke" onClick=${revoke}>${t("revoke")}</button>
    ${msg ? html`<p class="ok" role="status" data-testid="revoke-result">${msg}</p>` : null}
    ${error ? html`<p class="error" role="alert" data-testid="revoke-error">${error}</p>` : null}
  </section>`;
}

function App() {
  const [lang, t, setLang] = useLang();
  const [session, setSession] = useState<Session | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const connect = async () => {
    setBusy(true);
    setError("");
    try {
      const s = await signIn();
      if (s.role !== "officer") {
        // Every review route would refuse it anyway: do not keep the session.
        setToken(null);
        setError(`${t("notOfficer")} (${s.wallet})`);
        return;
      }
      setSession(s);
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  };
  return html`<header>
      <h1>${t("reviewTitle")}</h1>
      <div class="row">
        ${session ? html`<span class="mono break" data-testid="wallet">${t("wallet")}: ${session.wallet}</span>` : null}
        <${LangToggle} lang=${lang} t=${t} onChange=${setLang} />
      </div>
    </header>
    <main class="wide">
      ${!session
        ? html`<section class="card"><button type="button" data-testid="connect" disabled=${busy} onClick=${connect}>${busy ? t("connecting") : t("connect")}</button></section>`
        : null}
      ${error ? html`<p class="error" role="alert" data-testid="error">${error}</p>` : null}
      ${session ? html`<${Queue} t=${t} lang=${lang} /><${Expiring} t=${t} lang=${lang} />` : null}
    </main>`;
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(html`<${App} />`, root);
}
