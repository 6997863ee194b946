import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, apiGet, apiPost, health, type Application, type PersonalRecord } from "./api.ts";
import { html } from "./html.ts";
import { formatTime, LangToggle, useLang, type Lang, type MsgKey, type T } from "./i18n.ts";
import { formFieldOf, normaliseName, validateForm, type FieldErrors, type FormValues } from "./validate.ts";
import { signIn, WalletError, type Session } from "./wallet.ts";

/**
 * The applicant's page: connect the wallet (SIWE), apply, follow the status live, see or
 * erase one's own data. The exchange's address comes from `?exchange=` (http(s) only).
 */
type Provider = { name: string; production: boolean };
const POLL_MS = 1500;
const NATIONALITIES: [number, string][] = [[704, "Việt Nam"], [702, "Singapore"], [392, "Japan"], [410, "Korea"], [156, "China"], [840, "United States"], [826, "United Kingdom"], [250, "France"], [276, "Germany"], [36, "Australia"]];

function exchangeUrl(): string | null {
  const raw = new URLSearchParams(location.search).get("exchange");
  if (!raw) return null;
  try {
    const u = new URL(raw);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function errorText(err: unknown, t: T): string {
  if (err instanceof WalletError) return t(err.key);
  return err instanceof Error ? err.message : String(err);
}

function DevBanner({ provider, t }: { provider: Provider | null; t: T }) {
  if (!provider || provider.production) return null;
  return html`<div class="dev-banner" role="note" data-testid="dev-banner">${t("devBanner", { p: provider.name })}</div>`;
}

const EMPTY: FormValues = { idNumber: "", fullName: "", dateOfBirth: "", sex: "", nationality: "704", chipDataHash: "", sessionId: "", investorType: "retail", evidenceKind: "", evidenceHash: "", evidenceDescription: "" };

function ApplicationForm({ t, provider, onSubmitted }: { t: T; provider: Provider | null; onSubmitted: (a: Application) => void }) {
  const [v, setV] = useState<FormValues>(EMPTY);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [serverErrors, setServerErrors] = useState<Partial<Record<keyof FormValues, string>>>({});
  const [touched, setTouched] = useState<Partial<Record<keyof FormValues, boolean>>>({});
  const [formError, setFormError] = useState("");
  const [busy, setBusy] = useState(false);
  // One key per content: a retried click of the same form is the same request (idempotent).
  const [requestKey, setRequestKey] = useState(() => `web-${randomHex(12)}`);

  const set = (k: keyof FormValues, value: string) => {
    const next = { ...v, [k]: value } as FormValues;
    setV(next);
    setRequestKey(`web-${randomHex(12)}`);
    setServerErrors({ ...serverErrors, [k]: undefined });
    setErrors(validateForm(next, Date.now()));
  };
  const blur = (k: keyof FormValues) => setTouched({ ...touched, [k]: true });
  const fillDevSession = () => {
    const next = { ...v, chipDataHash: `0x${randomHex(32)}`, sessionId: `dev-${randomHex(8)}` };
    setV(next);
    setRequestKey(`web-${randomHex(12)}`);
    setServerErrors({ ...serverErrors, chipDataHash: undefined, sessionId: undefined });
    setErrors(validateForm(next, Date.now()));
    setTouched({ ...touched, chipDataHash: true, sessionId: true });
  };
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const found = validateForm(v, Date.now());
    setErrors(found);
    setTouched(Object.fromEntries(Object.keys(v).map((k) => [k, true])));
    setFormError("");
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    try {
      const body = {
        idNumber: v.idNumber,
        fullName: normaliseName(v.fullName),
        dateOfBirth: v.dateOfBirth,
        sex: v.sex,
        nationality: Number(v.nationality),
        chipDataHash: v.chipDataHash,
        verification: { provider: provider?.name ?? "", sessionId: v.sessionId },
        investorType: v.investorType,
        ...(v.investorType === "retail" ? {} : { investorEvidence: { kind: v.evidenceKind.trim(), documentHash: v.evidenceHash, description: v.evidenceDescription } }),
      };
      onSubmitted(await apiPost<Application>("/applications", body, { "idempotency-key": requestKey }));
    } catch (err) {
      const field = err instanceof ApiError ? formFieldOf(err.field) : null;
      if (field) setServerErrors({ [field]: (err as ApiError).message });
      else setFormError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (k: keyof FormValues) => {
    const server = serverErrors[k];
    const local = touched[k] ? errors[k] : undefined;
    const text = server ?? (local ? t(local) : "");
    return text ? html`<span class="field-error" id=${`err-${k}`} role="alert" data-testid=${`err-${k}`}>${text}</span>` : null;
  };
  const invalid = (k: keyof FormValues) => String(Boolean(serverErrors[k] || (touched[k] && errors[k])));
  const input = (k: keyof FormValues, label: MsgKey, attrs: Record<string, unknown> = {}) => html`<div class="field">
    <label for=${`f-${k}`}>${t(label)}</label>
    <input id=${`f-${k}`} name=${k} value=${v[k]} aria-invalid=${invalid(k)} aria-describedby=${`err-${k}`} onInput=${(e: Event) => set(k, (e.target as HTMLInputElement).value)} onBlur=${() => blur(k)} ...${attrs} />
    ${fieldError(k)}
  </div>`;
  const professional = v.investorType !== "retail";
  return html`<section class="card">
    <h2>${t("formTitle")}</h2>
    <form onSubmit=${submit} novalidate>
      <div class="grid">
        ${input("idNumber", "idNumber", { inputmode: "numeric", autocomplete: "off", maxlength: 12 })}
        ${input("fullName", "fullName", { autocomplete: "name" })}
        ${input("dateOfBirth", "dateOfBirth", { type: "date" })}
        <div class="field">
          <label for="f-sex">${t("sex")}</label>
          <select id="f-sex" name="sex" value=${v.sex} aria-invalid=${invalid("sex")} onChange=${(e: Event) => { set("sex", (e.target as HTMLSelectElement).value); blur("sex"); }}>
            <option value="">—</option>
            <option value="male">${t("male")}</option>
            <option value="female">${t("female")}</option>
          </select>
          ${fieldError("sex")}
        </div>
        <div class="field">
          <label for="f-nationality">${t("nationality")}</label>
          <select id="f-nationality" name="nationality" value=${v.nationality} onChange=${(e: Event) => set("nationality", (e.target as HTMLSelectElement).value)}>
            ${NATIONALITIES.map(([code, name]) => html`<option value=${String(code)}>${name} (${code})</option>`)}
          </select>
          ${fieldError("nationality")}
        </div>
        <div class="field">
          <label for="f-investorType">${t("investorType")}</label>
          <select id="f-investorType" name="investorType" value=${v.investorType} onChange=${(e: Event) => set("investorType", (e.target as HTMLSelectElement).value)}>
            <option value="retail">${t("retail")}</option>
            <option value="professional">${t("professional")}</option>
            <option value="institutional">${t("institutional")}</option>
          </select>
          ${fieldError("investorType")}
        </div>
      </div>
      ${professional
        ? html`<div class="grid">
            ${input("evidenceKind", "evidenceKind")} ${input("evidenceHash", "evidenceHash", { class: "mono" })} ${input("evidenceDescription", "evidenceDescription")}
          </div>`
        : null}
      <h2>${t("provider")}: ${provider?.name ?? "…"} ${provider && !provider.production ? html`<span class="badge dev">${t("devBadge")}</span>` : null}</h2>
      ${provider && !provider.production
        ? html`<p><button type="button" class="secondary" data-testid="dev-session" onClick=${fillDevSession}>${t("devSession")}</button></p>`
        : null}
      <div class="grid">${input("chipDataHash", "chipDataHash", { class: "mono", autocomplete: "off" })} ${input("sessionId", "sessionId", { autocomplete: "off" })}</div>
      ${formError ? html`<p class="error" role="alert" data-testid="form-error">${formError}</p>` : null}
      <button type="submit" data-testid="submit" disabled=${busy}>${busy ? t("submitting") : t("submit")}</button>
    </form>
  </section>`;
}

const RENEW_WITHIN_MS = 30 * 86_400_000;

function StatusCard({ a, t, lang }: { a: Application; t: T; lang: Lang }) {
  const exchange = exchangeUrl();
  return html`<section class="card status" data-status=${a.status} data-testid="status" aria-live="polite">
    <h2>${t("statusTitle")} <span class="muted">· ${t("live")}</span></h2>
    <p data-testid="status-text"><strong>${t(`status.${a.status}` as MsgKey)}</strong></p>
    <dl>
      <dt>${t("submittedAt")}</dt><dd>${formatTime(a.submittedAt, lang)}</dd>
      <dt>${t("provider")}</dt><dd>${a.provider} ${a.providerProduction ? null : html`<span class="badge dev">${t("devBadge")}</span>`}</dd>
      ${a.reason ? html`<dt>${t("reason")}</dt><dd data-testid="status-reason">${a.reason}</dd>` : null}
      ${a.txHash ? html`<dt>${t("tx")}</dt><dd class="mono break" data-testid="status-tx">${a.txHash}</dd>` : null}
      ${a.expiresAt ? html`<dt>${t("expires")}</dt><dd>${formatTime(a.expiresAt * 1000, lang)}</dd>` : null}
    </dl>
    ${a.status === "issued" && a.expiresAt !== undefined && a.expiresAt * 1000 - Date.now() < RENEW_WITHIN_MS
      ? html`<p class="error" role="status" data-testid="renew-reminder">${t("renewReminder")}</p>`
      : null}
    ${a.status === "issued"
      ? html`<p class="ok">${t("exchangeReady")} ${exchange ? html`<a href=${exchange} data-testid="exchange-link">${t("goExchange")}</a>` : null}</p>`
      : null}
  </section>`;
}

function MyData({ t }: { t: T }) {
  const [records, setRecords] = useState<PersonalRecord[] | null>(null);
  const [msg, setMsg] = useState("");
  const [error, setError] = useState("");
  const show = async () => {
    setError("");
    try {
      setRecords(await apiGet<PersonalRecord[]>("/me/data"));
    } catch (err) {
      setError(errorText(err, t));
    }
  };
  const erase = async () => {
    if (!window.confirm(t("eraseConfirm"))) return;
    setError("");
    try {
      const r = await apiPost<{ erased: number }>("/me/erase");
      setRecords(null);
      setMsg(t("erased", { n: r.erased }));
    } catch (err) {
      setError(errorText(err, t));
    }
  };
  return html`<section class="card" data-testid="my-data">
    <h2>${t("myData")}</h2>
    <div class="row">
      <button type="button" class="secondary" data-testid="show-data" onClick=${show}>${t("showData")}</button>
      <button type="button" class="danger" data-testid="erase" onClick=${erase}>${t("erase")}</button>
    </div>
    ${msg ? html`<p class="ok" role="status" data-testid="erase-result">${msg}</p>` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${records && records.length === 0 ? html`<p>${t("noData")}</p>` : null}
    ${records?.map(
      (r) => html`<dl style="margin-top: 0.75rem">
        <dt>${t("idNumber")}</dt><dd class="mono">${r.data.idNumber}</dd>
        <dt>${t("fullName")}</dt><dd>${r.data.fullName}</dd>
        <dt>${t("dateOfBirth")}</dt><dd>${r.data.dateOfBirth}</dd>
        <dt>${t("sex")}</dt><dd>${t(r.data.sex)}</dd>
        <dt>${t("nationality")}</dt><dd>${r.data.nationality}</dd>
        <dt>${t("chipDataHash")}</dt><dd class="mono break">${r.data.chipDataHash}</dd>
        <dt>${t("sessionId")}</dt><dd>${r.data.verification.sessionId}</dd>
      </dl>`,
    )}
  </section>`;
}

function App() {
  const [lang, t, setLang] = useLang();
  const [provider, setProvider] = useState<Provider | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [apps, setApps] = useState<Application[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  useEffect(() => {
    health().then((h) => setProvider(h.provider ?? null), () => undefined);
  }, []);
  // The status, live: polled while signed in (the answer is small and carries no personal data).
  useEffect(() => {
    if (!session) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const list = await apiGet<Application[]>("/applications/me");
        if (!stopped) setApps(list);
      } catch (err) {
        if (!stopped) setError(errorText(err, t));
      }
      if (!stopped) timer = setTimeout(tick, POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [session]);

  const connect = async () => {
    setBusy(true);
    setError("");
    try {
      setSession(await signIn());
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  };
  const latest = apps && apps.length > 0 ? [...apps].sort((a, b) => a.submittedAt - b.submittedAt)[apps.length - 1]! : null;
  // An attestation lapsing within 30 days is renewed by a fresh application (re-verification).
  const renewing = latest?.status === "issued" && latest.expiresAt !== undefined && latest.expiresAt * 1000 - Date.now() < RENEW_WITHIN_MS;
  const canApply = apps !== null && (!latest || renewing || latest.status === "rejected" || latest.status === "revoked" || latest.status === "erased");
  return html`<${DevBanner} provider=${provider} t=${t} />
    <header>
      <h1>${t("appTitle")}</h1>
      <div class="row">
        ${session ? html`<span class="mono break" data-testid="wallet">${t("signedInAs")}: ${session.wallet}</span>` : null}
        <${LangToggle} lang=${lang} t=${t} onChange=${setLang} />
      </div>
    </header>
    <main>
      ${!session
        ? html`<section class="card">
            <p>${t("intro")}</p>
            <button type="button" data-testid="connect" disabled=${busy} onClick=${connect}>${busy ? t("connecting") : t("connect")}</button>
          </section>`
        : null}
      ${error ? html`<p class="error" role="alert" data-testid="error">${error}</p>` : null}
      ${latest ? html`<${StatusCard} a=${latest} t=${t} lang=${lang} />` : null}
      ${session && canApply
        ? html`${latest ? html`<p>${t("applyAgain")}</p>` : null}<${ApplicationForm} t=${t} provider=${provider} onSubmitted=${(a: Application) => setApps([...(apps ?? []), a])} />`
        : null}
      ${session ? html`<${MyData} t=${t} />` : null}
    </main>`;
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(html`<${App} />`, root);
}
