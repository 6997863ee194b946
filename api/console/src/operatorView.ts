import { useState } from "preact/hooks";
import { ApiError, apiGet, apiPost, apiPut } from "./api.ts";
import { html } from "./html.ts";
import { short } from "./format.ts";
import { useRemote } from "./useRemote.ts";

/**
 * Operator controls: halt/resume a symbol, kill switch / unfreeze an account, the pre-trade
 * limits in words, failed settlements, balances owing after a custody debit. Every action asks for a reason (the gateway journals it
 * and the audit log keeps it) and shows what happened, or the gateway's refusal, in words.
 */

type Limits = {
  collarBps: number;
  maxOrderQty: number;
  maxOrderValue: string;
  maxOpenOrders: number;
  keyRate: { burst: number; perSecond: number };
  accountRate: { burst: number; perSecond: number };
};
type RiskConfig = { defaults: Limits; symbols: Record<string, Partial<Limits>>; accounts: Record<string, Partial<Limits>> };
type Market = { symbol: string; base: string; quote: string; baseDecimals: number; quoteDecimals: number; halted: boolean; haltReason: string; haltedUntil: number; limits: Limits };
type Frozen = { accountId: string; reason: string; openOrders: number };
type Owed = { accountId: string; currency: string; owed: string; available: string; holds: string; openOrders: number };
type FailedSettlement = { tradeId: string; symbol: string; seller: string; buyer: string; size: string; funds: string; tradedAt: number; failedAt: number; reason: string };
type Outcome = { ok: boolean; text: string } | null;

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** The gateway's refusal in words: its message, and what kind of refusal when the status says more. */
function refusal(err: unknown): string {
  if (err instanceof ApiError) {
    const kind = err.status === 400 ? "The request was not accepted" : err.status === 403 ? "Not allowed for this wallet" : err.status === 404 ? "Not found" : "Refused";
    return `${kind}: ${err.message}`;
  }
  return `Could not reach the gateway: ${(err as Error).message}`;
}

/** Digits grouped: đồng with dots (`1.000.000 ₫`), other units with commas. Integer strings only; anything else as given. */
export function grouped(value: string | number, unit?: string): string {
  const s = String(value);
  if (!/^\d+$/.test(s)) return unit ? `${s} ${unit}` : s;
  if (unit === "₫") return `${s.replace(/\B(?=(\d{3})+(?!\d))/g, ".")} ₫`;
  const n = s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return unit ? `${n} ${unit}` : n;
}

/** Smallest units → display units (no floats): `12345`, 2 → `123.45`. */
function fromUnits(units: string | number, decimals: number): string {
  const s = String(units).padStart(decimals + 1, "0");
  if (decimals === 0) return s;
  const frac = s.slice(-decimals).replace(/0+$/, "");
  return frac ? `${s.slice(0, -decimals)}.${frac}` : s.slice(0, -decimals);
}

/** Basis points as a percentage without floats: 1000 → "10", 25 → "0.25". */
export function bpsToPercent(bps: number): string {
  const whole = Math.floor(bps / 100);
  const frac = String(bps % 100).padStart(2, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : String(whole);
}

/** "10" or "0.25" (%) → basis points; undefined when not a percentage with at most two decimals between 0 and 100. */
export function percentToBps(text: string): number | undefined {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) return undefined;
  const bps = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
  return bps <= 10_000 ? bps : undefined;
}

type Units = { base: string; baseDecimals: number; quoteDecimals: number };

/** Each limit in words with its unit; the code names never reach the page. */
export const LIMIT_WORDS: Record<keyof Limits, { label: string; help: string }> = {
  collarBps: { label: "Price collar", help: "A limit price further than this from the reference price is refused (0 turns it off)." },
  maxOrderQty: { label: "Largest order size", help: "An order for more than this quantity is refused." },
  maxOrderValue: { label: "Largest order value", help: "An order worth more than this is refused." },
  maxOpenOrders: { label: "Most open orders per account", help: "A new order beyond this many resting orders is refused." },
  keyRate: { label: "Request rate per API key", help: "Sustained requests per second, and the burst allowed at once." },
  accountRate: { label: "Request rate per account", help: "Sustained requests per second, and the burst allowed at once." },
};

export function limitText(k: keyof Limits, v: Limits[keyof Limits], u: Units | undefined): string {
  switch (k) {
    case "collarBps":
      return v === 0 ? "off" : `${bpsToPercent(v as number)} % from the reference price`;
    case "maxOrderQty":
      return u ? grouped(fromUnits(v as number, u.baseDecimals), u.base) : `${grouped(v as number)} (smallest units of each market's asset)`;
    case "maxOrderValue":
      return grouped(fromUnits(v as string, u?.quoteDecimals ?? 0), "₫");
    case "maxOpenOrders":
      return `${grouped(v as number)} orders`;
    default: {
      const r = v as { burst: number; perSecond: number };
      return `${r.perSecond} per second, bursts of ${grouped(r.burst)}`;
    }
  }
}

function Result({ outcome, testid }: { outcome: Outcome; testid: string }) {
  if (!outcome) return null;
  return html`<p class=${outcome.ok ? "op-ok" : "error"} role=${outcome.ok ? "status" : "alert"} data-testid=${testid}>${outcome.text}</p>`;
}

function ReasonField({ id, value, onInput, label = "Reason (recorded in the audit log)" }: { id: string; value: string; onInput: (v: string) => void; label?: string }) {
  return html`<label class="op-field" for=${id}>${label}
    <input id=${id} data-testid=${id} aria-required="true" maxlength="200" value=${value} onInput=${(e: Event) => onInput((e.target as HTMLInputElement).value)} />
  </label>`;
}

// ---------------------------------------------------------------- markets

function MarketRow({ m, onDone }: { m: Market; onDone: (o: Outcome) => void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const action = m.halted ? "resume" : "halt";
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!reason.trim()) return onDone({ ok: false, text: `Give a reason to ${action} ${m.symbol}.` });
    setBusy(true);
    try {
      await apiPost(`/api/v1/sen/operator/markets/${encodeURIComponent(m.symbol)}/${action}`, { reason: reason.trim() });
      setOpen(false);
      setReason("");
      onDone({
        ok: true,
        text: m.halted ? `${m.symbol} resumed: new orders are accepted again.` : `${m.symbol} halted: new orders are refused until it is resumed; resting orders stay in the book and may be cancelled.`,
      });
    } catch (err) {
      onDone({ ok: false, text: refusal(err) });
    } finally {
      setBusy(false);
    }
  };
  const until = m.halted && m.haltedUntil ? ` until ${new Date(m.haltedUntil).toISOString().slice(11, 19)} UTC (volatility guard)` : "";
  return html`<li class="op-item" data-testid="op-market" data-symbol=${m.symbol} data-halted=${String(m.halted)}>
    <strong class="op-symbol">${m.symbol}</strong>
    <span class="op-state">${m.halted ? html`<span class="op-halted">Halted${until}</span> <q data-testid="op-halt-reason">${m.haltReason}</q>` : html`<span class="op-trading">Trading</span>`}</span>
    <span class="op-actions">
      ${open
        ? html`<form class="op-inline" onSubmit=${submit} aria-label=${`${action} ${m.symbol}`}>
            <${ReasonField} id=${`op-reason-${m.symbol}`} value=${reason} onInput=${setReason} />
            <div class="buttons">
              <button type="submit" data-testid="op-market-confirm" disabled=${busy}>${m.halted ? `Resume ${m.symbol}` : `Halt ${m.symbol}`}</button>
              <button type="button" class="secondary" onClick=${() => setOpen(false)}>Cancel</button>
            </div>
          </form>`
        : html`<button type="button" class=${m.halted ? "" : "op-danger"} data-testid="op-market-action" onClick=${() => setOpen(true)}>${m.halted ? "Resume…" : "Halt…"}</button>`}
    </span>
  </li>`;
}

function Markets({ markets, reload }: { markets: Market[]; reload: () => void }) {
  const [outcome, setOutcome] = useState<Outcome>(null);
  return html`<section class="op-panel" aria-labelledby="op-markets-h">
    <h3 id="op-markets-h">Markets</h3>
    <ul class="op-list">${markets.map((m) => html`<${MarketRow} key=${m.symbol} m=${m} onDone=${(o: Outcome) => (setOutcome(o), o?.ok && reload())} />`)}</ul>
    <${Result} outcome=${outcome} testid="op-market-result" />
  </section>`;
}

// ---------------------------------------------------------------- kill switch

function KillSwitch({ frozen, reload }: { frozen: Frozen[]; reload: () => void }) {
  const [account, setAccount] = useState("");
  const [reason, setReason] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [unfreezeReason, setUnfreezeReason] = useState<Record<string, string>>({});
  const review = (e: Event) => {
    e.preventDefault();
    if (!ADDRESS.test(account.trim())) return setOutcome({ ok: false, text: "Give the account's wallet address: 0x followed by 40 hexadecimal digits." });
    if (!reason.trim()) return setOutcome({ ok: false, text: "Give a reason for the kill switch." });
    setOutcome(null);
    setConfirming(true);
  };
  const freeze = async () => {
    setBusy(true);
    try {
      const r = await apiPost<{ accountId: string; cancelledOrderIds: string[] }>(`/api/v1/sen/operator/accounts/${account.trim().toLowerCase()}/kill-switch`, { reason: reason.trim() });
      const n = r.cancelledOrderIds.length;
      setOutcome({ ok: true, text: `${r.accountId} is frozen: ${n === 0 ? "it had no open orders" : `${n} open order${n === 1 ? "" : "s"} cancelled`}; new orders and withdrawals are refused until it is unfrozen.` });
      setConfirming(false);
      setAccount("");
      setReason("");
      reload();
    } catch (err) {
      setOutcome({ ok: false, text: refusal(err) });
    } finally {
      setBusy(false);
    }
  };
  const unfreeze = async (id: string) => {
    const why = (unfreezeReason[id] ?? "").trim();
    if (!why) return setOutcome({ ok: false, text: `Give a reason to unfreeze ${id}.` });
    setBusy(true);
    try {
      await apiPost(`/api/v1/sen/operator/accounts/${id}/unfreeze`, { reason: why });
      setOutcome({ ok: true, text: `${id} is unfrozen: it may place orders and withdraw again (its cancelled orders stay cancelled).` });
      reload();
    } catch (err) {
      setOutcome({ ok: false, text: refusal(err) });
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="op-panel" aria-labelledby="op-kill-h">
    <h3 id="op-kill-h">Kill switch</h3>
    <form class="op-form" onSubmit=${review} aria-label="Kill switch">
      <label class="op-field" for="op-kill-account">Account (wallet address)
        <input id="op-kill-account" data-testid="op-kill-account" class="mono" placeholder="0x…" maxlength="42" value=${account} onInput=${(e: Event) => (setAccount((e.target as HTMLInputElement).value), setConfirming(false))} />
      </label>
      <${ReasonField} id="op-kill-reason" value=${reason} onInput=${(v: string) => (setReason(v), setConfirming(false))} />
      <div class="buttons"><button type="submit" class="op-danger" data-testid="op-kill-review">Review kill switch…</button></div>
    </form>
    ${confirming
      ? html`<div class="op-confirm" role="alertdialog" aria-labelledby="op-kill-confirm-h" data-testid="op-kill-confirm">
          <p id="op-kill-confirm-h"><strong>Freeze <span class="mono break">${account.trim().toLowerCase()}</span>?</strong></p>
          <ul>
            <li>Cancels every open order and waiting stop order of this account, at once.</li>
            <li>Refuses its new orders and withdrawals until an operator unfreezes it.</li>
            <li>Recorded with your reason: <q>${reason.trim()}</q></li>
          </ul>
          <div class="buttons">
            <button type="button" class="op-danger" data-testid="op-kill-confirm-button" disabled=${busy} onClick=${freeze}>Freeze and cancel its orders</button>
            <button type="button" class="secondary" onClick=${() => setConfirming(false)}>Cancel</button>
          </div>
        </div>`
      : null}
    <${Result} outcome=${outcome} testid="op-kill-result" />
    <h4>Frozen accounts</h4>
    ${frozen.length === 0
      ? html`<p class="muted" data-testid="op-frozen-empty">No account is frozen.</p>`
      : html`<ul class="op-list">${frozen.map(
            (f) => html`<li class="op-item" data-testid="op-frozen" data-account=${f.accountId}>
              <span class="mono op-symbol" title=${f.accountId}>${short(f.accountId)}</span>
              <span class="op-state">${f.reason}</span>
              <form class="op-inline op-actions" onSubmit=${(e: Event) => (e.preventDefault(), unfreeze(f.accountId))} aria-label=${`Unfreeze ${f.accountId}`}>
                <input aria-label="Reason to unfreeze (recorded in the audit log)" placeholder="Reason" data-testid="op-unfreeze-reason" maxlength="200" value=${unfreezeReason[f.accountId] ?? ""} onInput=${(e: Event) => setUnfreezeReason({ ...unfreezeReason, [f.accountId]: (e.target as HTMLInputElement).value })} />
                <button type="submit" class="secondary" data-testid="op-unfreeze" disabled=${busy}>Unfreeze</button>
              </form>
            </li>`,
          )}</ul>`}
  </section>`;
}

// ---------------------------------------------------------------- risk limits

const LIMIT_KEYS = Object.keys(LIMIT_WORDS) as Array<keyof Limits>;

function LimitsTable({ title, limits, units, testid }: { title: string; limits: Partial<Limits>; units: Units | undefined; testid: string }) {
  const keys = LIMIT_KEYS.filter((k) => limits[k] !== undefined);
  return html`<div class="op-limits" data-testid=${testid}>
    <h4>${title}</h4>
    <dl class="facts">${keys.map((k) => html`<dt title=${LIMIT_WORDS[k].help}>${LIMIT_WORDS[k].label}</dt><dd data-testid="op-limit" data-limit=${k}>${limitText(k, limits[k]!, units)}</dd>`)}</dl>
  </div>`;
}

/** The form's fields in display units (% for the collar, whole units for the rest). */
type Draft = { collar: string; maxOrderQty: string; maxOrderValue: string; maxOpenOrders: string; keyPerSecond: string; keyBurst: string; accountPerSecond: string; accountBurst: string };

function draftOf(l: Limits): Draft {
  return {
    collar: bpsToPercent(l.collarBps),
    maxOrderQty: String(l.maxOrderQty),
    maxOrderValue: l.maxOrderValue,
    maxOpenOrders: String(l.maxOpenOrders),
    keyPerSecond: String(l.keyRate.perSecond),
    keyBurst: String(l.keyRate.burst),
    accountPerSecond: String(l.accountRate.perSecond),
    accountBurst: String(l.accountRate.burst),
  };
}

function RiskLimits({ risk, markets, reload }: { risk: RiskConfig; markets: Market[]; reload: () => void }) {
  const [scope, setScope] = useState<"defaults" | "symbol" | "account">("defaults");
  const [key, setKey] = useState("");
  const [reason, setReason] = useState("");
  const [edits, setEdits] = useState<Partial<Draft>>({});
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const market = markets.find((m) => m.symbol === key);
  // Quantities have a unit only within one market; values are in đồng everywhere.
  const units: Units | undefined = scope === "symbol" && market ? market : undefined;
  const effective: Limits =
    scope === "defaults" ? risk.defaults : scope === "symbol" ? { ...risk.defaults, ...risk.symbols[key] } : { ...risk.defaults, ...risk.accounts[key.trim().toLowerCase()] };
  const current = draftOf(effective);
  const value = (k: keyof Draft) => edits[k] ?? current[k];
  const field = (k: keyof Draft, label: string, unit: string, testid: string) => html`<label class="op-field" for=${`op-lim-${k}`}><span>${label} <span class="op-unit">(${unit})</span></span>
    <input id=${`op-lim-${k}`} data-testid=${testid} inputmode="decimal" value=${value(k)} onInput=${(e: Event) => setEdits({ ...edits, [k]: (e.target as HTMLInputElement).value })} />
  </label>`;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (scope === "symbol" && !market) return setOutcome({ ok: false, text: "Choose the market these limits are for." });
    if (scope === "account" && !ADDRESS.test(key.trim())) return setOutcome({ ok: false, text: "Give the account's wallet address: 0x followed by 40 hexadecimal digits." });
    if (!reason.trim()) return setOutcome({ ok: false, text: "Give a reason for the change." });
    const limits: Record<string, unknown> = {};
    const changes: string[] = [];
    const whole = (k: keyof Draft, label: string) => {
      const v = value(k).trim().replace(/[.,\s]/g, "");
      if (!/^[1-9]\d{0,17}$/.test(v)) throw new Error(`${label}: a whole number above zero.`);
      return v;
    };
    try {
      if (value("collar") !== current.collar) {
        const bps = percentToBps(value("collar"));
        if (bps === undefined) throw new Error("Price collar: a percentage between 0 and 100 with at most two decimals, e.g. 2.5.");
        limits.collarBps = bps;
      }
      if (value("maxOrderQty") !== current.maxOrderQty) limits.maxOrderQty = Number(whole("maxOrderQty", LIMIT_WORDS.maxOrderQty.label));
      if (value("maxOrderValue") !== current.maxOrderValue) limits.maxOrderValue = whole("maxOrderValue", LIMIT_WORDS.maxOrderValue.label);
      if (value("maxOpenOrders") !== current.maxOpenOrders) limits.maxOpenOrders = Number(whole("maxOpenOrders", LIMIT_WORDS.maxOpenOrders.label));
      for (const [rate, ps, burst] of [["keyRate", "keyPerSecond", "keyBurst"], ["accountRate", "accountPerSecond", "accountBurst"]] as const) {
        if (value(ps) !== current[ps] || value(burst) !== current[burst]) {
          const perSecond = Number(value(ps).trim());
          if (!(perSecond > 0)) throw new Error(`${LIMIT_WORDS[rate].label}: requests per second above zero.`);
          limits[rate] = { perSecond, burst: Number(whole(burst, `${LIMIT_WORDS[rate].label} (burst)`)) };
        }
      }
    } catch (err) {
      return setOutcome({ ok: false, text: (err as Error).message });
    }
    if (Object.keys(limits).length === 0) return setOutcome({ ok: false, text: "Nothing changed: edit a limit first." });
    for (const k of Object.keys(limits) as Array<keyof Limits>) changes.push(`${LIMIT_WORDS[k].label}: ${limitText(k, effective[k], units)} → ${limitText(k, limits[k] as never, units)}`);
    setBusy(true);
    try {
      await apiPut("/api/v1/sen/operator/risk-limits", { scope, key: scope === "defaults" ? undefined : scope === "account" ? key.trim().toLowerCase() : key, reason: reason.trim(), limits });
      const where = scope === "defaults" ? "every market and account (defaults)" : scope === "symbol" ? key : `account ${key.trim().toLowerCase()}`;
      setOutcome({ ok: true, text: `Limits changed for ${where}. ${changes.join("; ")}.` });
      setEdits({});
      setReason("");
      reload();
    } catch (err) {
      setOutcome({ ok: false, text: refusal(err) });
    } finally {
      setBusy(false);
    }
  };

  const symbolOverrides = Object.entries(risk.symbols).filter(([, l]) => Object.keys(l).length > 0);
  const accountOverrides = Object.entries(risk.accounts).filter(([, l]) => Object.keys(l).length > 0);
  return html`<section class="op-panel" aria-labelledby="op-risk-h">
    <h3 id="op-risk-h">Pre-trade limits</h3>
    <div class="op-limits-grid">
      <${LimitsTable} title="Defaults (every market and account)" limits=${risk.defaults} units=${undefined} testid="op-limits-defaults" />
      ${symbolOverrides.map(([s, l]) => html`<${LimitsTable} title=${`${s} (market override)`} limits=${l} units=${markets.find((m) => m.symbol === s)} testid="op-limits-symbol" />`)}
      ${accountOverrides.map(([a, l]) => html`<${LimitsTable} title=${`Account ${short(a)} (override)`} limits=${l} units=${units} testid="op-limits-account" />`)}
    </div>
    <form class="op-form" onSubmit=${submit} aria-label="Change pre-trade limits">
      <h4>Change limits</h4>
      <div class="op-row">
        <label class="op-field" for="op-lim-scope">For
          <select id="op-lim-scope" data-testid="op-lim-scope" value=${scope} onChange=${(e: Event) => (setScope((e.target as HTMLSelectElement).value as typeof scope), setKey(""), setEdits({}))}>
            <option value="defaults">Every market and account (defaults)</option>
            <option value="symbol">One market</option>
            <option value="account">One account</option>
          </select>
        </label>
        ${scope === "symbol"
          ? html`<label class="op-field" for="op-lim-symbol">Market
              <select id="op-lim-symbol" data-testid="op-lim-symbol" value=${key} onChange=${(e: Event) => (setKey((e.target as HTMLSelectElement).value), setEdits({}))}>
                <option value="">Choose…</option>
                ${markets.map((m) => html`<option value=${m.symbol}>${m.symbol}</option>`)}
              </select>
            </label>`
          : scope === "account"
            ? html`<label class="op-field" for="op-lim-account">Account (wallet address)
                <input id="op-lim-account" data-testid="op-lim-account" class="mono" placeholder="0x…" maxlength="42" value=${key} onInput=${(e: Event) => (setKey((e.target as HTMLInputElement).value), setEdits({}))} />
              </label>`
            : null}
      </div>
      <div class="op-row">
        ${field("collar", LIMIT_WORDS.collarBps.label, "% from the reference price, 0: off", "op-lim-collar")}
        ${field("maxOrderQty", LIMIT_WORDS.maxOrderQty.label, scope === "symbol" && market ? (market.baseDecimals === 0 ? market.base : `smallest units of ${market.base}`) : "smallest units of each market's asset", "op-lim-maxqty")}
        ${field("maxOrderValue", LIMIT_WORDS.maxOrderValue.label, "₫", "op-lim-maxvalue")}
        ${field("maxOpenOrders", LIMIT_WORDS.maxOpenOrders.label, "orders", "op-lim-maxopen")}
      </div>
      <div class="op-row">
        ${field("keyPerSecond", "Requests per API key", "per second", "op-lim-keyps")}
        ${field("keyBurst", "Burst per API key", "requests at once", "op-lim-keyburst")}
        ${field("accountPerSecond", "Requests per account", "per second", "op-lim-accps")}
        ${field("accountBurst", "Burst per account", "requests at once", "op-lim-accburst")}
      </div>
      <${ReasonField} id="op-lim-reason" value=${reason} onInput=${setReason} />
      <div class="buttons"><button type="submit" data-testid="op-lim-save" disabled=${busy}>Save limits</button></div>
    </form>
    <${Result} outcome=${outcome} testid="op-lim-result" />
  </section>`;
}

// ---------------------------------------------------------------- failed settlements

function FailedSettlements({ items, reload }: { items: FailedSettlement[]; reload: () => void }) {
  const [notes, setNotes] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const act = async (t: FailedSettlement, action: "retry" | "reverse") => {
    const note = (notes[t.tradeId] ?? "").trim();
    if (!note) return setOutcome({ ok: false, text: `Write a note before you ${action} trade ${t.tradeId}.` });
    setBusy(true);
    try {
      await apiPost(`/api/v1/sen/operator/settlements/${t.tradeId}/${action}`, { note });
      setOutcome({
        ok: true,
        text: action === "retry" ? `Trade ${t.tradeId} is queued for settlement again.` : `Trade ${t.tradeId} is reversed on the ledger: each side got back what it gave, fees included.`,
      });
      reload();
    } catch (err) {
      setOutcome({ ok: false, text: refusal(err) });
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="op-panel" aria-labelledby="op-settle-h">
    <h3 id="op-settle-h">Failed settlements</h3>
    ${items.length === 0
      ? html`<p class="muted" data-testid="op-settle-empty">No failed settlement is waiting.</p>`
      : html`<ul class="op-list">${items.map(
          (t) => html`<li class="op-item op-settle" data-testid="op-settlement" data-trade-id=${t.tradeId}>
            <span class="op-symbol"><strong>${t.symbol}</strong><br /><span class="mono muted" title="Trade id">${t.tradeId}</span></span>
            <span class="op-state">${t.size} for ${grouped(t.funds, "₫")} · seller <span class="mono" title=${t.seller}>${short(t.seller)}</span>, buyer <span class="mono" title=${t.buyer}>${short(t.buyer)}</span><br />
              <span class="muted">The vault refused it:</span> <code>${t.reason}</code></span>
            <span class="op-inline op-actions">
              <input aria-label=${`Note for trade ${t.tradeId} (recorded in the audit log)`} placeholder="Note (recorded)" data-testid="op-settle-note" maxlength="500" value=${notes[t.tradeId] ?? ""} onInput=${(e: Event) => setNotes({ ...notes, [t.tradeId]: (e.target as HTMLInputElement).value })} />
              <button type="button" data-testid="op-settle-retry" disabled=${busy} onClick=${() => act(t, "retry")}>Retry</button>
              <button type="button" class="secondary" data-testid="op-settle-reverse" disabled=${busy} onClick=${() => act(t, "reverse")}>Reverse</button>
            </span>
          </li>`,
        )}</ul>`}
    <${Result} outcome=${outcome} testid="op-settle-result" />
  </section>`;
}

// ---------------------------------------------------------------- owed balances

/**
 * Balances a custody debit (the token's agent seizing or recovering custody in the vault) left
 * owing: nothing to act on here, the next credit in the currency pays it, but the operator must
 * see who owes what (the account cannot trade or withdraw that currency meanwhile).
 */
function OwedBalances({ items }: { items: Owed[] }) {
  return html`<section class="op-panel" aria-labelledby="op-owed-h">
    <h3 id="op-owed-h">Owed after custody debits</h3>
    ${items.length === 0
      ? html`<p class="muted" data-testid="op-owed-empty">Nothing is owed.</p>`
      : html`<p class="muted">The token's agent took custody these accounts had already traded away; the next credit in the currency pays it first.</p>
          <ul class="op-list">${items.map(
            (o) => html`<li class="op-item" data-testid="op-owed" data-account=${o.accountId} data-currency=${o.currency}>
              <span class="mono op-symbol" title=${o.accountId}>${short(o.accountId)}</span>
              <span class="op-state">owes <strong data-testid="op-owed-amount">${o.owed} ${o.currency}</strong> · available ${o.available}, on hold ${o.holds}, ${o.openOrders} open order${o.openOrders === 1 ? "" : "s"}</span>
            </li>`,
          )}</ul>`}
  </section>`;
}

// ---------------------------------------------------------------- the view

type OperatorState = { markets: Market[]; frozen: Frozen[]; risk: RiskConfig; failed: FailedSettlement[]; owed: Owed[] };

/** Operator controls: halt/resume a symbol, kill switch, risk limits; each with a reason, audited. */
export function OperatorView() {
  const r = useRemote<OperatorState>(async () => {
    const [markets, frozen, risk, failed, owed] = await Promise.all([
      apiGet<{ items: Market[] }>("/api/v1/sen/operator/markets"),
      apiGet<{ items: Frozen[] }>("/api/v1/sen/operator/accounts/frozen"),
      apiGet<RiskConfig>("/api/v1/sen/operator/risk-limits"),
      apiGet<{ items: FailedSettlement[] }>("/api/v1/sen/operator/settlements/failed"),
      apiGet<{ items: Owed[] }>("/api/v1/sen/operator/accounts/owed"),
    ]);
    return { markets: markets.items, frozen: frozen.items, risk, failed: failed.items, owed: owed.items };
  }, []);
  if (r.error && !r.data) return html`<section data-testid="operator-view"><h2>Operator controls</h2><p class="error" role="alert">${refusal(r.error)}</p></section>`;
  if (!r.data) return html`<section data-testid="operator-view"><h2>Operator controls</h2><p class="muted">Loading…</p></section>`;
  const d = r.data;
  return html`<section data-testid="operator-view" class="op-view">
    <h2>Operator controls</h2>
    <p class="muted">Every action needs a reason; the gateway journals it and the audit log records who did what and why.</p>
    <${Markets} markets=${d.markets} reload=${r.reload} />
    <${KillSwitch} frozen=${d.frozen} reload=${r.reload} />
    <${RiskLimits} risk=${d.risk} markets=${d.markets} reload=${r.reload} />
    <${FailedSettlements} items=${d.failed} reload=${r.reload} />
    <${OwedBalances} items=${d.owed} />
  </section>`;
}
