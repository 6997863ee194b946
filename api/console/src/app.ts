import { useEffect, useState } from "preact/hooks";
import { setToken, setUnauthorizedHandler } from "./api.ts";
import { html } from "./html.ts";
import { short } from "./format.ts";
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
import type { Session, StoredAlert } from "./types.ts";
import { signIn, signOut } from "./wallet.ts";

type SignedIn = Session & { address: string };

function Login({ onSession, notice }: { onSession: (s: SignedIn) => void; notice: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [refused, setRefused] = useState("");
  const connect = async () => {
    setBusy(true);
    setError("");
    setRefused("");
    try {
      const s = await signIn();
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
    <p>Sign in with the wallet bound to your compliance officer e-ID (Sign-In with Ethereum). Nothing is stored in this browser.</p>
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    <button type="button" class="primary" data-testid="connect" disabled=${busy} onClick=${connect}>${busy ? "Waiting for the wallet…" : "Connect wallet"}</button>
    ${refused ? html`<p class="error" role="alert" data-testid="refusal">${refused}</p>` : null}
    ${error ? html`<p class="error" role="alert" data-testid="login-error">${error}</p>` : null}
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
  const [notice, setNotice] = useState("");
  const [live, setLive] = useState<StoredAlert[]>([]);
  const [liveState, setLiveState] = useState<LiveState>("offline");
  const [announce, setAnnounce] = useState("");
  const route = useRoute();

  const end = (why: string) => {
    signOut();
    setSession(null);
    setLive([]);
    setNotice(why);
  };
  useEffect(() => {
    if (!session) return;
    setUnauthorizedHandler(() => end("Your session ended; sign in again."));
    const expires = typeof session.expiresAt === "number" ? session.expiresAt : Date.parse(session.expiresAt);
    const timer = Number.isFinite(expires) ? setTimeout(() => end("Your session expired; sign in again."), Math.max(0, Math.min(expires - Date.now(), 2 ** 31 - 1))) : undefined;
    const stop =
      session.role === "compliance"
        ? subscribeAlerts((a) => {
            setLive((l) => [a, ...l.filter((x) => x.alertId !== a.alertId)].slice(0, 200));
            setAnnounce(`New ${a.severity} alert: ${a.rule} ${a.symbol ?? ""}`);
          }, setLiveState)
        : () => {};
    return () => {
      stop();
      clearTimeout(timer);
      setUnauthorizedHandler(null);
    };
  }, [session?.token]);

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
      <button type="button" class="secondary" data-testid="sign-out" onClick=${() => end("Signed out.")}>Sign out</button>
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
