import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, apiGet, setToken, setUnauthorizedHandler } from "../../console/src/api.ts";
import { html } from "../../console/src/html.ts";
import { signIn, signOut, WalletError } from "../../console/src/wallet.ts";
import { useAccountData } from "./accountData.ts";
import { Balances, OrdersPanel } from "./accountViews.ts";
import { ApiKeys } from "./apiKeys.ts";
import { CandleChart } from "./chart.ts";
import { Funding } from "./funding.ts";
import { I18nContext, i18n, initialLang, rememberLang, useI18n, type Lang } from "./i18n.ts";
import { MarketList, OrderBook, TradesTape } from "./market.ts";
import { OrderForm } from "./orderForm.ts";
import { ProblemText, toProblem, type Problem } from "./problem.ts";
import { openFeed, type Feed, type LinkState } from "./ws.ts";
import type { Eligibility, Settings, SymbolInfo, Trade } from "./types.ts";

type Session = { token: string; address: string; accountId: string; expiresAt: string | number };

/** The issuer's onboarding page, told where to send the applicant back (its `?exchange=`). */
function onboardingHref(settings: Settings | null): string {
  if (!settings) return "#";
  const u = new URL(settings.onboardingUrl);
  u.searchParams.set("exchange", new URL("/", location.href).href);
  return u.href;
}

function SignIn({ settings, onSession }: { settings: Settings | null; onSession: (s: Session) => void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Problem | null>(null);
  const [noEid, setNoEid] = useState(false);
  const connect = async () => {
    setBusy(true);
    setError(null);
    setNoEid(false);
    try {
      const s = await signIn();
      setToken(s.token);
      onSession(s as Session);
    } catch (err) {
      // ID_NOT_VERIFIED (KuCoin 400303): the wallet signed, but has no e-ID yet.
      if (err instanceof ApiError && err.code === "400303") setNoEid(true);
      else setError(err instanceof WalletError && !window.ethereum ? { key: "noWallet" } : toProblem(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="signin">
    <button type="button" class="primary" data-testid="connect" disabled=${busy} onClick=${connect}>${busy ? t("connecting") : t("connect")}</button>
    ${noEid
      ? html`<p class="warn" role="alert" data-testid="no-eid">${t("noEid")} <a href=${onboardingHref(settings)} data-testid="onboarding-link" rel="noopener">${t("onboard")} →</a></p>`
      : null}
    ${error ? html`<p class="error" role="alert" data-testid="login-error"><${ProblemText} problem=${error} /></p>` : null}
  </div>`;
}

/** A websocket's state: the market stream in the header, the account stream beside the views. */
function LiveBadge({ state, account = false }: { state: LinkState; account?: boolean }) {
  const { t } = useI18n();
  const words = state === "live" ? t("live") : state === "connecting" ? t("reconnecting") : t("offline");
  return html`<span class=${`live live-${state}`} data-state=${state} role="status" data-testid=${account ? "account-live-status" : "live-status"}>${words}${account ? ` · ${t("tabAccount")}` : ""}</span>`;
}

function Trader({ session, settings, symbols, feed }: { session: Session | null; settings: Settings | null; symbols: SymbolInfo[]; feed: Feed }) {
  const { t } = useI18n();
  const [symbol, setSymbol] = useState(() => symbols.find((s) => `#${s.symbol}` === location.hash)?.symbol ?? symbols[0].symbol);
  const info = symbols.find((s) => s.symbol === symbol)!;
  const [picked, setPicked] = useState<string | null>(null);
  const [last, setLast] = useState<string | null>(null);
  const [privateFeed, setPrivateFeed] = useState<Feed | null>(null);
  const [privateState, setPrivateState] = useState<LinkState>("offline");
  const [eligibility, setEligibility] = useState<Eligibility | null>(null);
  const [view, setView] = useState<"trade" | "account">("trade");
  const data = useAccountData(privateFeed);

  useEffect(() => {
    if (!session) return;
    const f = openFeed("private", setPrivateState, () => window.dispatchEvent(new Event("sen:resync")));
    setPrivateFeed(f);
    apiGet<Eligibility>("/api/v1/sen/eligibility").then(setEligibility, () => setEligibility(null));
    return () => {
      f.close();
      setPrivateFeed(null);
    };
  }, [session?.token]);
  useEffect(() => {
    let live = true;
    apiGet<{ price: string | null }>(`/api/v1/market/orderbook/level1?symbol=${symbol}`).then((r) => live && setLast(r.price), () => undefined);
    const off = feed.on(`/market/match:${symbol}`, (d: Trade) => setLast(d.price));
    history.replaceState(null, "", `#${symbol}`);
    return () => {
      live = false;
      off();
    };
  }, [symbol, feed]);

  return html`<div class="layout">
    <nav class="views" aria-label="Views">
      <button type="button" aria-pressed=${view === "trade"} data-testid="view-trade" onClick=${() => setView("trade")}>${t("tabTrade")}</button>
      <button type="button" aria-pressed=${view === "account"} data-testid="view-account" onClick=${() => setView("account")} disabled=${!session}>${t("tabAccount")}</button>
      ${session ? html`<${LiveBadge} state=${privateState} account=${true} />` : null}
    </nav>
    <div class=${`trade-view ${view === "trade" ? "" : "hidden-mobile"}`}>
      <${MarketList} symbols=${symbols} feed=${feed} selected=${symbol} onSelect=${(s: string) => (setSymbol(s), setPicked(null))} />
      <${CandleChart} symbol=${symbol} info=${info} feed=${feed} />
      <${OrderBook} symbol=${symbol} info=${info} feed=${feed} onPick=${setPicked} />
      <${TradesTape} symbol=${symbol} info=${info} feed=${feed} />
      ${session
        ? html`<${OrderForm} info=${info} pickedPrice=${picked} lastPrice=${last} eligibility=${eligibility} confirmFrom=${settings?.confirmOrderVnd ?? null} onPlaced=${data.reload} />`
        : html`<section class="panel order-form"><p class="muted">${t("signInToTrade")}</p></section>`}
      ${session ? html`<${Balances} data=${data} />` : null}
      ${session ? html`<${OrdersPanel} data=${data} settings=${settings} />` : null}
    </div>
    ${session
      ? html`<div class=${`account-view ${view === "account" ? "" : "hidden-mobile"}`}>
          <${Funding} data=${data} address=${session.address} settings=${settings} />
          <${ApiKeys} />
        </div>`
      : null}
  </div>`;
}

/** The trader web app: markets for everyone; with a signed-in wallet, trading, funds and keys. */
export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = (l: Lang) => {
    rememberLang(l);
    document.documentElement.lang = l;
    setLangState(l);
  };
  const ctx = useMemo(() => i18n(lang, setLang), [lang]);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [symbols, setSymbols] = useState<SymbolInfo[] | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState("");
  const [publicState, setPublicState] = useState<LinkState>("connecting");
  const feed = useMemo(() => openFeed("public", setPublicState, () => window.dispatchEvent(new Event("sen:resync"))), []);
  useEffect(() => {
    document.documentElement.lang = lang;
    apiGet<Settings>("/api/v1/sen/trader-settings").then(setSettings, () => undefined);
    apiGet<SymbolInfo[]>("/api/v2/symbols").then(setSymbols, () => setSymbols([]));
  }, []);
  const end = (why: string, atGateway = false) => {
    void signOut({ atGateway });
    setSession(null);
    setNotice(why);
  };
  useEffect(() => {
    if (!session) return;
    setUnauthorizedHandler(() => end(ctx.t("sessionEnded")));
    const expires = typeof session.expiresAt === "number" ? session.expiresAt : Date.parse(session.expiresAt);
    const timer = Number.isFinite(expires) ? setTimeout(() => end(ctx.t("sessionEnded")), Math.max(0, Math.min(expires - Date.now(), 2 ** 31 - 1))) : undefined;
    return () => {
      clearTimeout(timer);
      setUnauthorizedHandler(null);
    };
  }, [session?.token]);

  return html`<${I18nContext.Provider} value=${ctx}>
    <div class="shell">
      <header class="top">
        <h1>Sen</h1>
        <span class="muted tagline">${ctx.t("tagline")}</span>
        <${LiveBadge} state=${publicState} />
        <div class="lang" role="group" aria-label=${ctx.t("language")}>
          <button type="button" aria-pressed=${lang === "vi"} data-testid="lang-vi" onClick=${() => setLang("vi")}>VI</button>
          <button type="button" aria-pressed=${lang === "en"} data-testid="lang-en" onClick=${() => setLang("en")}>EN</button>
        </div>
        ${session
          ? html`<span class="who mono" title=${session.address} data-testid="signed-in-as">${session.address.slice(0, 6)}…${session.address.slice(-4)}</span>
              <button type="button" class="secondary" data-testid="sign-out" onClick=${() => end("", true)}>${ctx.t("signOut")}</button>`
          : html`<${SignIn} settings=${settings} onSession=${(s: Session) => (setNotice(""), setSession(s))} />`}
      </header>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
      <main id="main">${symbols === null ? html`<p class="muted">…</p>` : symbols.length === 0 ? html`<p class="muted">${ctx.t("none")}</p>` : html`<${Trader} session=${session} settings=${settings} symbols=${symbols} feed=${feed} />`}</main>
    </div>
  <//>`;
}
