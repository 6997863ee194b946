import { useEffect, useState } from "preact/hooks";
import { ApiError, apiGet, setToken, setUnauthorizedHandler } from "./api.ts";
import { html } from "./html.ts";
import { short } from "./format.ts";
import { ruleWords } from "./alertWords.ts";
import { AuditBadge } from "./auditBadge.ts";
import { AlertsView } from "./alertsView.ts";
import { AlertDetailView } from "./alertDetail.ts";
import { SearchView } from "./searchView.ts";
import { OrderLifecycleView } from "./orderLifecycle.ts";
import { IdentityActivityView } from "./identityActivity.ts";
import { BookView } from "./bookView.ts";
import { SettlementQueueView } from "./settlementQueue.ts";
import { ReportsView } from "./reportsView.ts";
import { OperatorView } from "./operatorView.ts";
import { subscribeAlerts, type LiveState } from "./liveAlerts.ts";
import { href, useRoute, type Route } from "./router.ts";
import type { StoredAlert } from "./types.ts";
import { signIn, signOut } from "./wallet.ts";
import { clearSession, expiresAtMs, loadSession, saveSession, type SignedIn } from "./session.ts";
import { devSignInInfo, signInWithKey, type DevSignInInfo } from "./devSignIn.ts";

function Login({ onSession, notice }: { onSession: (s: SignedIn) => void; notice: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [refused, setRefused] = useState("");
  const [dev, setDev] = useState<DevSignInInfo>({ enabled: false });
  const [devKey, setDevKey] = useState("");
  useEffect(() => {
    void devSignInInfo().then(setDev);
  }, []);
  const finish = async (how: () => Promise<SignedIn>) => {
    setBusy(true);
    setError("");
    setRefused("");
    try {
      const s = await how();
      if (s.role !== "compliance" && s.role !== "operator") {
        // The API would refuse every console call anyway; do not keep the session.
        setToken(null);
        setRefused(`This wallet is not a compliance officer or an operator (${s.address} signed in as ${s.role}). Connect a compliance officer's or an operator's wallet.`);
        return;
      }
      setToken(s.token);
      onSession(s);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login" id="main">
    <h1>Sen · Compliance console</h1>
    <p>Sign in with the wallet bound to your compliance officer e-ID (Sign-In with Ethereum). The session is kept in this tab only, until it expires or you sign out.</p>
    ${notice ? html`<p class="notice" role="status" data-testid="login-notice">${notice}</p>` : null}
    <button type="button" class="primary" data-testid="connect" disabled=${busy} onClick=${() => finish(signIn)}>${busy ? "Waiting for the wallet…" : "Connect wallet"}</button>
    ${refused ? html`<p class="error" role="alert" data-testid="refusal">${refused}</p>` : null}
    ${error ? html`<p class="error" role="alert" data-testid="login-error">${error}</p>` : null}
    ${dev.enabled
      ? html`<section class="pc-dev" aria-labelledby="dev-h" data-testid="dev-signin">
          <h2 id="dev-h">Development sign-in</h2>
          <p class="muted">This exchange runs on a local development chain (${dev.chainId}). Without a wallet extension, sign in with a development key: the page signs the same Sign-In with Ethereum message, and the exchange checks it as it checks a wallet's. Never paste a key that holds anything of value.</p>
          ${dev.accounts.length
            ? html`<div class="pc-dev-accounts">${dev.accounts.map(
                (a) => html`<button type="button" class="secondary" data-testid="dev-account" data-address=${a.address} disabled=${busy} onClick=${() => finish(() => signInWithKey(a.privateKey))}>
                  Sign in as ${a.role === "compliance" ? "the compliance officer" : "the operator"} · Hardhat test account #${a.hardhatIndex} <span class="mono">${short(a.address)}</span>
                </button>`,
              )}</div>`
            : null}
          <form class="pc-dev-key" onSubmit=${(e: Event) => (e.preventDefault(), finish(() => signInWithKey(devKey)))}>
            <label for="dev-key">Or paste a development private key</label>
            <input id="dev-key" type="password" class="mono" autocomplete="off" spellcheck="false" placeholder="0x… (64 hex digits)" data-testid="dev-key" value=${devKey} onInput=${(e: Event) => setDevKey((e.target as HTMLInputElement).value)} />
            <button type="submit" data-testid="dev-key-submit" disabled=${busy || !devKey.trim()}>Sign in with this key</button>
          </form>
        </section>`
      : null}
  </main>`;
}

function View({ route, live, role }: { route: Route; live: StoredAlert[]; role: string }) {
  // Operators see their controls only; the compliance views need the compliance role (the API enforces both).
  if (role === "operator") return html`<${OperatorView} />`;
  switch (route.view) {
    case "book":
      return html`<${BookView} symbol=${route.symbol} params=${route.params} />`;
    case "settlements":
      return html`<${SettlementQueueView} />`;
    case "reports":
      return html`<${ReportsView} params=${route.params} />`;
    case "operator":
      return html`<p class="muted" data-testid="operator-only">Operator controls need an operator's wallet.</p>`;
    case "alert":
      return html`<${AlertDetailView} id=${route.id} />`;
    case "search":
      return html`<${SearchView} params=${route.params} />`;
    case "order":
      return html`<${OrderLifecycleView} id=${route.id} />`;
    case "identity":
      return html`<${IdentityActivityView} hash=${route.hash} />`;
    default:
      return html`<${AlertsView} params=${route.params} live=${live} />`;
  }
}

/** The console: wallet sign-in, then the header (log status, live feed) and the current view. */
export function App() {
  const [session, setSession] = useState<SignedIn | null>(null);
  // A session kept from before a reload is shown only once the gateway has accepted it again.
  const [restoring, setRestoring] = useState(() => loadSession() !== null);
  const [notice, setNotice] = useState("");
  const [live, setLive] = useState<StoredAlert[]>([]);
  const [liveState, setLiveState] = useState<LiveState>("offline");
  const [announce, setAnnounce] = useState("");
  const route = useRoute();

  const end = (why: string, atGateway = false) => {
    void signOut({ atGateway });
    clearSession();
    setSession(null);
    setLive([]);
    setNotice(why);
  };
  useEffect(() => {
    const kept = loadSession();
    if (!kept) return;
    setToken(kept.token);
    // A cheap route any signed-in role may call: it answers 401 for a token the gateway no longer knows.
    apiGet<unknown>("/api/v1/sen/api-keys").then(
      () => setSession(kept),
      (err: unknown) => {
        setToken(null);
        if (err instanceof ApiError && err.status === 401) {
          clearSession();
          setNotice("Your session ended; sign in again.");
        } else setNotice(`Could not check your session with the exchange (${(err as Error).message}); sign in again.`);
      },
    ).finally(() => setRestoring(false));
  }, []);
  useEffect(() => {
    if (!session) return;
    setUnauthorizedHandler(() => end("Your session ended; sign in again."));
    saveSession(session);
    const expires = expiresAtMs(session);
    const timer = Number.isFinite(expires) ? setTimeout(() => end("Your session expired; sign in again."), Math.max(0, Math.min(expires - Date.now(), 2 ** 31 - 1))) : undefined;
    const stop =
      session.role === "compliance"
        ? subscribeAlerts((a) => {
            setLive((l) => [a, ...l.filter((x) => x.alertId !== a.alertId)].slice(0, 200));
            setAnnounce(`New ${a.severity} alert: ${ruleWords(a.rule)} ${a.symbol ?? ""}`);
          }, setLiveState)
        : () => {};
    return () => {
      stop();
      clearTimeout(timer);
      setUnauthorizedHandler(null);
    };
  }, [session?.token]);

  if (restoring) return html`<main class="login" id="main"><p class="muted" data-testid="restoring">Restoring your session…</p></main>`;
  if (!session) return html`<${Login} notice=${notice} onSession=${(s: SignedIn) => (setNotice(""), setSession(s))} />`;
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <h1><a href=${href.alerts()}>Sen · Compliance</a></h1>
      ${session.role === "compliance"
        ? html`<${AuditBadge} />
            <span class=${`live live-${liveState}`} data-testid="live-status" title="Live surveillance alerts">${liveState === "live" ? "● live" : liveState === "connecting" ? "○ connecting" : "○ offline"}</span>`
        : html`<span class="role" data-testid="role">Operator</span>`}
      <span class="who mono" title=${session.address} data-testid="signed-in-as">${short(session.address)}</span>
      <button type="button" class="secondary" data-testid="sign-out" onClick=${() => end("Signed out.", true)}>Sign out</button>
    </header>
    ${session.role === "operator"
      ? html`<nav aria-label="Views"><a href=${href.operator()} aria-current="page" data-testid="nav-operator">Operator controls</a></nav>`
      : html`<nav aria-label="Views">
          <a href=${href.alerts()} aria-current=${route.view === "alerts" || route.view === "alert" ? "page" : undefined}>Alerts${live.length ? html` <span class="count" data-testid="live-count">${live.length} new</span>` : null}</a>
          <a href=${href.search()} aria-current=${route.view === "search" ? "page" : undefined} data-testid="nav-search">Search</a>
          <a href=${href.book()} aria-current=${route.view === "book" ? "page" : undefined} data-testid="nav-book">Order book</a>
          <a href=${href.settlements()} aria-current=${route.view === "settlements" ? "page" : undefined} data-testid="nav-settlements">Settlements</a>
          <a href=${href.reports()} aria-current=${route.view === "reports" ? "page" : undefined} data-testid="nav-reports">Reports</a>
        </nav>`}
    <div class="sr-only" aria-live="polite">${announce}</div>
    <main id="main"><${View} route=${route} live=${live} role=${session.role} /></main>
  </div>`;
}
