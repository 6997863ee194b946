import { useEffect, useRef, useState } from "preact/hooks";
import { apiPost } from "../../console/src/api.ts";
import { html } from "../../console/src/html.ts";
import { useI18n, type Key } from "./i18n.ts";
import { useAmountInput } from "./amountInput.ts";
import { compare, formatAmount, formatDecimal, multiply, parseInput } from "./money.ts";
import { ProblemText, toProblem, type Problem } from "./problem.ts";
import type { Eligibility, SymbolInfo } from "./types.ts";

type Kind = "limit" | "market" | "stopLimit" | "stopMarket";
const KINDS: Array<[Kind, Key]> = [
  ["limit", "limit"],
  ["market", "marketOrder"],
  ["stopLimit", "stopLimit"],
  ["stopMarket", "stopMarket"],
];

/**
 * Order entry: limit (post-only, GTC/IOC/FOK), market by size or by funds, stop-limit and
 * stop-market (KuCoin's /api/v1/stop-order). What the gateway refuses is said as the risk rule
 * in the page's language (problem.ts), and what the holder rules refuse in advance comes from
 * /sen/eligibility. An order worth `confirmFrom` đồng or more (the gateway's
 * SEN_CONFIRM_ORDER_VND, from /sen/trader-settings) asks first; until the settings arrive every
 * order with a value asks, so none slips through unconfirmed.
 */
export function OrderForm({ info, pickedPrice, lastPrice, eligibility, confirmFrom, onPlaced }: { info: SymbolInfo; pickedPrice: string | null; lastPrice: string | null; eligibility: Eligibility | null; confirmFrom: string | null; onPlaced: () => void }) {
  const { t, lang } = useI18n();
  const [side, setSide] = useState<"buy" | "sell">("buy");
  const [kind, setKind] = useState<Kind>("limit");
  const [byFunds, setByFunds] = useState(false);
  const [price, setPrice] = useAmountInput(lang);
  const [size, setSize] = useAmountInput(lang);
  const [funds, setFunds] = useAmountInput(lang);
  const [stopPrice, setStopPrice] = useAmountInput(lang);
  const [stop, setStop] = useState<"loss" | "entry">("entry");
  const [postOnly, setPostOnly] = useState(false);
  const [tif, setTif] = useState<"GTC" | "IOC" | "FOK">("GTC");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Problem | null>(null);
  const [done, setDone] = useState(false);
  const [confirming, setConfirming] = useState<{ body: Record<string, unknown>; path: string; value: string } | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const placeButton = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);

  useEffect(() => {
    if (pickedPrice) setPrice(formatDecimal(pickedPrice, lang));
  }, [pickedPrice]);
  useEffect(() => setStop(side === "buy" ? "entry" : "loss"), [side]);
  useEffect(() => {
    if (confirming) {
      asked.current = true;
      dialog.current?.showModal?.();
    } else {
      dialog.current?.close?.();
      // Whether confirmed, cancelled or escaped: the keyboard goes on from the button that asked.
      if (asked.current) placeButton.current?.focus();
      asked.current = false;
    }
  }, [confirming]);

  const hasPrice = kind === "limit" || kind === "stopLimit";
  const isMarket = kind === "market" || kind === "stopMarket";
  const isStop = kind === "stopLimit" || kind === "stopMarket";
  const useFunds = isMarket && byFunds;
  const e = eligibility?.items.find((x) => x.symbol === info.symbol);
  const refusal = e && (side === "buy" ? (!e.canBuy ? e.buyRefusal : null) : !e.canSell ? e.sellRefusal : null);

  const p = hasPrice ? parseInput(price, lang) : null;
  const q = useFunds ? null : parseInput(size, lang);
  const f = useFunds ? parseInput(funds, lang) : null;
  const sp = isStop ? parseInput(stopPrice, lang) : null;
  const value = useFunds ? f : q && (p ?? lastPrice) ? multiply(p ?? lastPrice!, q) : null;

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    setDone(false);
    if ((hasPrice && !p) || (useFunds ? !f : !q) || (isStop && !sp)) return setError({ key: "badNumber" });
    const body: Record<string, unknown> = { clientOid: crypto.randomUUID(), side, symbol: info.symbol, type: hasPrice ? "limit" : "market" };
    if (hasPrice) body.price = p;
    if (useFunds) body.funds = f;
    else body.size = q;
    if (kind === "limit") {
      body.timeInForce = postOnly ? "GTC" : tif;
      if (postOnly) body.postOnly = true;
    }
    if (isStop) {
      body.stop = stop;
      body.stopPrice = sp;
    }
    const path = isStop ? "/api/v1/stop-order" : "/api/v1/orders";
    if (value && (confirmFrom === null || compare(value, confirmFrom) >= 0)) return setConfirming({ body, path, value });
    await send(path, body);
  };
  const send = async (path: string, body: Record<string, unknown>) => {
    setBusy(true);
    try {
      await apiPost<{ orderId: string }>(path, body);
      setDone(true);
      onPlaced();
    } catch (err) {
      setError(toProblem(err));
    } finally {
      setBusy(false);
    }
  };

  return html`<section class="panel order-form" aria-labelledby="form-h">
    <h2 id="form-h" class="sr-only">${t("place")}</h2>
    <form onSubmit=${submit} data-testid="order-form" novalidate>
      <div class="segmented sides" role="group" aria-label=${t("side")}>
        <button type="button" class="buy" aria-pressed=${side === "buy"} data-testid="side-buy" onClick=${() => setSide("buy")}>${t("buy")}</button>
        <button type="button" class="sell" aria-pressed=${side === "sell"} data-testid="side-sell" onClick=${() => setSide("sell")}>${t("sell")}</button>
      </div>
      <div class="segmented kinds" role="group" aria-label=${t("type")}>
        ${KINDS.map(([k, label]) => html`<button type="button" key=${k} aria-pressed=${kind === k} data-testid=${`kind-${k}`} onClick=${() => setKind(k)}>${t(label)}</button>`)}
      </div>
      ${isMarket && side === "buy"
        ? html`<div class="segmented" role="group" aria-label=${t("amount")}>
            <button type="button" aria-pressed=${!byFunds} onClick=${() => setByFunds(false)}>${t("bySize")}</button>
            <button type="button" aria-pressed=${byFunds} data-testid="by-funds" onClick=${() => setByFunds(true)}>${t("byFunds")}</button>
          </div>`
        : null}
      ${isStop
        ? html`<label>${t("stopPrice")} (${info.quoteCurrency})<input inputmode="decimal" data-testid="stop-price" value=${stopPrice} onInput=${(ev: Event) => setStopPrice((ev.target as HTMLInputElement).value)} /></label>
            <label>${t("trigger")}<select value=${stop} data-testid="stop-direction" onChange=${(ev: Event) => setStop((ev.target as HTMLSelectElement).value as "loss" | "entry")}><option value="entry">${t("stopEntry")}</option><option value="loss">${t("stopLoss")}</option></select></label>`
        : null}
      ${hasPrice ? html`<label>${t("price")} (${info.quoteCurrency})<input inputmode="decimal" data-testid="price" value=${price} onInput=${(ev: Event) => setPrice((ev.target as HTMLInputElement).value)} /></label>` : null}
      ${useFunds
        ? html`<label>${t("funds")} (${info.quoteCurrency})<input inputmode="decimal" data-testid="funds" value=${funds} onInput=${(ev: Event) => setFunds((ev.target as HTMLInputElement).value)} /></label>`
        : html`<label>${t("size")} (${info.baseCurrency})<input inputmode="decimal" data-testid="size" value=${size} onInput=${(ev: Event) => setSize((ev.target as HTMLInputElement).value)} /></label>`}
      ${kind === "limit"
        ? html`<div class="row">
            <label class="check"><input type="checkbox" checked=${postOnly} data-testid="post-only" onChange=${(ev: Event) => setPostOnly((ev.target as HTMLInputElement).checked)} />${t("postOnly")}</label>
            <label class="inline">${t("tif")}<select value=${tif} disabled=${postOnly} data-testid="tif" onChange=${(ev: Event) => setTif((ev.target as HTMLSelectElement).value as "GTC")}><option>GTC</option><option>IOC</option><option>FOK</option></select></label>
          </div>`
        : null}
      <p class="muted total" data-testid="order-total">${t("total")}: ${value ? formatAmount(value, info.quoteCurrency, lang) : "—"}</p>
      ${confirmFrom && info.quoteCurrency === "VND" ? html`<p class="muted small" data-testid="confirm-threshold" data-value=${confirmFrom}>${t("confirmFrom")} ${formatAmount(confirmFrom, "VND", lang)}</p>` : null}
      ${refusal
        ? html`<p class="warn" data-testid="eligibility-refusal">${side === "buy" ? t("cannotBuy") : t("cannotSell")}: <${ProblemText} problem=${{ api: { senCode: refusal.senCode, msg: refusal.reason, status: 403 } }} /></p>`
        : null}
      <button type="submit" ref=${placeButton} class=${`primary ${side}`} disabled=${busy} data-testid="place">${side === "buy" ? t("buy") : t("sell")} ${info.baseCurrency}</button>
      ${error ? html`<p class="error" role="alert" data-testid="order-error"><strong>${"api" in error ? t("refused") : t("problem")}:</strong> <${ProblemText} problem=${error} /></p>` : null}
      ${done ? html`<p class="ok" role="status" data-testid="order-ok">${t("placed")}</p>` : null}
    </form>
    <dialog ref=${dialog} data-testid="confirm-dialog" aria-labelledby="confirm-h" onClose=${() => setConfirming(null)} onCancel=${() => setConfirming(null)}>
      ${confirming
        ? html`<h3 id="confirm-h">${t("confirmTitle")}</h3>
            <p>${t("confirmBody")}</p>
            <p class="mono">${side === "buy" ? t("buy") : t("sell")} ${confirming.body.size ? `${formatDecimal(String(confirming.body.size), lang)} ${info.baseCurrency}` : ""} · ${t("total")} ${formatAmount(confirming.value, info.quoteCurrency, lang)}</p>
            <div class="row">
              <button type="button" class="secondary" onClick=${() => setConfirming(null)}>${t("cancel")}</button>
              <button type="button" class="primary" data-testid="confirm-order" onClick=${() => {
                const c = confirming;
                setConfirming(null);
                void send(c.path, c.body);
              }}>${t("confirm")}</button>
            </div>`
        : null}
    </dialog>
  </section>`;
}
