import { useEffect, useRef, useState } from "preact/hooks";
import { apiDelete, apiPost } from "../../console/src/api.ts";
import { html } from "../../console/src/html.ts";
import type { AccountData } from "./accountData.ts";
import { formatTime, useI18n, type Key } from "./i18n.ts";
import { formatAmount, formatDecimal, parseInput } from "./money.ts";
import { ProblemText, toProblem, type Problem } from "./problem.ts";
import type { Fill, Order, Settings } from "./types.ts";

/** Balances: available and on hold in the ledger, and what the vault holds for the wallet on chain. */
export function Balances({ data }: { data: AccountData }) {
  const { t, lang } = useI18n();
  const custody = (c: string) => data.holdings?.items.find((x) => x.currency === c);
  return html`<section class="panel balances" aria-labelledby="bal-h">
    <h2 id="bal-h">${t("balances")}</h2>
    <div class="scroll"><table class="grid" data-testid="balances">
      <thead><tr><th>${t("currency")}</th><th class="num">${t("available")}</th><th class="num">${t("onHold")}</th><th class="num">${t("inCustody")}</th></tr></thead>
      <tbody>
        ${data.balances.map(
          (b) => html`<tr key=${b.currency} data-currency=${b.currency} data-available=${b.available} data-holds=${b.holds} data-custody=${custody(b.currency)?.custody ?? ""}>
            <th scope="row">${b.currency}</th>
            <td class="num mono">${formatAmount(b.available, b.currency, lang)}</td>
            <td class="num mono">${formatAmount(b.holds, b.currency, lang)}</td>
            <td class="num mono">${custody(b.currency) ? formatAmount(custody(b.currency)!.custody, b.currency, lang) : "—"}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>
  </section>`;
}

function TxLink({ hash, settings }: { hash: string | null; settings: Settings | null }) {
  if (!hash) return html`<span class="muted">—</span>`;
  const label = `${hash.slice(0, 10)}…${hash.slice(-6)}`;
  return settings?.explorerTxUrl
    ? html`<a class="mono" href=${settings.explorerTxUrl + hash} target="_blank" rel="noopener noreferrer" title=${hash} data-testid="tx-link">${label}</a>`
    : html`<span class="mono" title=${hash} data-testid="tx-hash" data-hash=${hash}>${label}</span>`;
}

function AmendRow({ o, onDone }: { o: Order; onDone: () => void }) {
  const { t, lang } = useI18n();
  const [price, setPrice] = useState(formatDecimal(o.price, lang));
  const [size, setSize] = useState(formatDecimal(o.size, lang));
  const [error, setError] = useState<Problem | null>(null);
  const first = useRef<HTMLInputElement>(null);
  // The amend button opened this row: the keyboard continues in its first field.
  useEffect(() => first.current?.focus(), []);
  const save = async (ev: Event) => {
    ev.preventDefault();
    const newPrice = parseInput(price, lang);
    const newSize = parseInput(size, lang);
    if (!newPrice || !newSize) return setError({ key: "badNumber" });
    try {
      await apiPost("/api/v1/hf/orders/alter", { symbol: o.symbol, orderId: o.id, newPrice, newSize });
      onDone();
    } catch (err) {
      setError(toProblem(err));
    }
  };
  return html`<tr class="amend"><td colspan="7">
    <form class="row" onSubmit=${save} data-testid="amend-form">
      <label class="inline">${t("newPrice")}<input ref=${first} inputmode="decimal" value=${price} onInput=${(e: Event) => setPrice((e.target as HTMLInputElement).value)} /></label>
      <label class="inline">${t("newSize")}<input inputmode="decimal" value=${size} onInput=${(e: Event) => setSize((e.target as HTMLInputElement).value)} /></label>
      <button type="submit" class="primary">${t("save")}</button>
      <button type="button" class="secondary" onClick=${onDone}>${t("cancel")}</button>
      ${error ? html`<span class="error" role="alert" data-testid="amend-error"><${ProblemText} problem=${error} /></span>` : null}
    </form>
  </td></tr>`;
}

function OrderRows({ orders, actions, onChanged }: { orders: Order[]; actions: boolean; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const [amending, setAmending] = useState<string | null>(null);
  const [error, setError] = useState<Problem | null>(null);
  if (orders.length === 0) return html`<p class="muted">${t("none")}</p>`;
  const cancel = async (o: Order) => {
    setError(null);
    try {
      await apiDelete(`/api/v1/orders/${o.id}`);
      onChanged();
    } catch (err) {
      setError(toProblem(err));
    }
  };
  return html`${error ? html`<p class="error" role="alert" data-testid="cancel-error"><${ProblemText} problem=${error} /></p>` : null}
    <div class="scroll"><table class="grid" data-testid=${actions ? "open-orders" : "order-history"}>
      <thead><tr><th>${t("market")}</th><th>${t("side")}</th><th>${t("type")}</th><th class="num">${t("price")}</th><th class="num">${t("filled")}/${t("size")}</th><th>${t("time")}</th><th></th></tr></thead>
      <tbody>
        ${orders.map(
          (o) => html`<tr key=${o.id} data-order=${o.id} data-size=${o.size} data-price=${o.price} data-done=${actions ? undefined : o.cancelExist ? "cancelled" : "filled"}>
              <td>${o.symbol}</td>
              <td class=${o.side === "buy" ? "up" : "down"}>${o.side === "buy" ? t("buy") : t("sell")}</td>
              <td>${o.type}${o.postOnly ? " · post" : ""}${o.timeInForce && o.timeInForce !== "GTC" ? ` · ${o.timeInForce}` : ""}</td>
              <td class="num mono">${o.type === "market" ? "—" : formatAmount(o.price, o.symbol.split("-")[1], lang)}</td>
              <td class="num mono">${formatDecimal(o.dealSize, lang)} / ${formatDecimal(o.size, lang)}</td>
              <td class="mono muted">${formatTime(o.createdAt, lang)}</td>
              <td class="actions">${actions
                ? html`<button type="button" class="secondary small" data-testid="amend" onClick=${() => setAmending(amending === o.id ? null : o.id)}>${t("amend")}</button>
                    <button type="button" class="secondary small" data-testid="cancel-order" onClick=${() => cancel(o)}>${t("cancel")}</button>`
                : o.cancelExist ? t("cancelled") : t("done")}</td>
            </tr>
            ${amending === o.id ? html`<${AmendRow} o=${o} onDone=${() => (setAmending(null), onChanged())} />` : null}`,
        )}
      </tbody>
    </table></div>`;
}

function Stops({ data }: { data: AccountData }) {
  const { t, lang } = useI18n();
  const [error, setError] = useState<Problem | null>(null);
  if (data.stops.length === 0) return html`<p class="muted">${t("none")}</p>`;
  return html`${error ? html`<p class="error" role="alert" data-testid="cancel-stop-error"><${ProblemText} problem=${error} /></p>` : null}
    <div class="scroll"><table class="grid" data-testid="stop-orders">
      <thead><tr><th>${t("market")}</th><th>${t("side")}</th><th>${t("type")}</th><th class="num">${t("stopPrice")}</th><th class="num">${t("price")}</th><th class="num">${t("size")}</th><th></th></tr></thead>
      <tbody>
        ${data.stops.map(
          (s) => html`<tr key=${s.id} data-stop=${s.id}>
            <td>${s.symbol}</td><td class=${s.side === "buy" ? "up" : "down"}>${s.side === "buy" ? t("buy") : t("sell")}</td><td>${s.type} · ${s.stop}</td>
            <td class="num mono">${formatDecimal(s.stopPrice, lang)}</td><td class="num mono">${s.price ? formatDecimal(s.price, lang) : "—"}</td>
            <td class="num mono">${s.funds ? formatAmount(s.funds, s.symbol.split("-")[1], lang) : s.size ? formatDecimal(s.size, lang) : "—"}</td>
            <td><button type="button" class="secondary small" data-testid="cancel-stop" onClick=${async () => {
              try {
                await apiDelete(`/api/v1/stop-order/${s.id}`);
                data.reload();
              } catch (err) {
                setError(toProblem(err));
              }
            }}>${t("cancel")}</button></td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
}

const SETTLEMENT: Record<Fill["settlementStatus"], Key> = { pending: "pending", settled: "settled", failed: "failed", reversed: "reversed" };

function Fills({ data, settings }: { data: AccountData; settings: Settings | null }) {
  const { t, lang } = useI18n();
  if (data.fills.length === 0) return html`<p class="muted">${t("none")}</p>`;
  return html`<div class="scroll"><table class="grid" data-testid="fills">
    <thead><tr><th>${t("market")}</th><th>${t("side")}</th><th class="num">${t("price")}</th><th class="num">${t("size")}</th><th class="num">${t("total")}</th><th>${t("settlement")}</th><th>${t("txHash")}</th></tr></thead>
    <tbody>
      ${data.fills.map(
        (f) => html`<tr key=${f.tradeId + f.orderId} data-trade=${f.tradeId} data-settlement=${f.settlementStatus}>
          <td>${f.symbol}</td>
          <td class=${f.side === "buy" ? "up" : "down"}>${f.side === "buy" ? t("buy") : t("sell")} · ${f.liquidity}</td>
          <td class="num mono">${formatAmount(f.price, f.symbol.split("-")[1], lang)}</td>
          <td class="num mono">${formatDecimal(f.size, lang)}</td>
          <td class="num mono">${formatAmount(f.funds, f.symbol.split("-")[1], lang)}</td>
          <td><span class=${`badge ${f.settlementStatus}`} title=${f.settlementError ?? ""}>${t(SETTLEMENT[f.settlementStatus])}</span></td>
          <td><${TxLink} hash=${f.settlementTxHash} settings=${settings} /></td>
        </tr>`,
      )}
    </tbody>
  </table></div>`;
}

type Tab = "open" | "stops" | "history" | "fills";

/** Open orders (cancel, amend), stop orders, order history and fills with their settlement on chain. */
export function OrdersPanel({ data, settings }: { data: AccountData; settings: Settings | null }) {
  const { t } = useI18n();
  const [tab, setTab] = useState<Tab>("open");
  const tabs: Array<[Tab, Key, number]> = [
    ["open", "openOrders", data.open.length],
    ["stops", "stopOrders", data.stops.length],
    ["history", "orderHistory", 0],
    ["fills", "fills", 0],
  ];
  return html`<section class="panel orders" aria-label=${t("openOrders")}>
    <div class="tabs" role="tablist">
      ${tabs.map(([k, label, n]) => html`<button type="button" role="tab" key=${k} aria-selected=${tab === k} data-testid=${`tab-${k}`} onClick=${() => setTab(k)}>${t(label)}${n ? ` (${n})` : ""}</button>`)}
    </div>
    <div role="tabpanel">
      ${tab === "open" ? html`<${OrderRows} orders=${data.open} actions=${true} onChanged=${data.reload} />` : null}
      ${tab === "stops" ? html`<${Stops} data=${data} />` : null}
      ${tab === "history" ? html`<${OrderRows} orders=${data.history} actions=${false} onChanged=${data.reload} />` : null}
      ${tab === "fills" ? html`<${Fills} data=${data} settings=${settings} />` : null}
    </div>
  </section>`;
}
