import { useState } from "preact/hooks";
import { apiGet, apiPost } from "../../console/src/api.ts";
import { html } from "../../console/src/html.ts";
import { useAmountInput } from "./amountInput.ts";
import type { AccountData } from "./accountData.ts";
import { useI18n, type Key } from "./i18n.ts";
import { add, compare, formatAmount, parseInput } from "./money.ts";
import { ProblemText, toProblem, type Problem } from "./problem.ts";
import type { Balance, Paged, Settings, Withdrawal } from "./types.ts";

type StepState = "todo" | "busy" | "done" | "failed";
type Step = { key: Key; state: StepState; hash?: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("timed out");
    await sleep(500);
  }
}

/** Sends one transaction with the wallet and waits for it to be mined (through the wallet's own node). */
async function sendAndWait(from: string, tx: { to: string; data: string }): Promise<string> {
  const eth = window.ethereum;
  if (!eth) throw new Error("no wallet");
  const hash = (await eth.request({ method: "eth_sendTransaction", params: [{ from, to: tx.to, data: tx.data }] })) as string;
  const receipt = await until(async () => ((await eth.request({ method: "eth_getTransactionReceipt", params: [hash] })) as { status: string } | null) ?? undefined);
  if (receipt.status !== "0x1") throw new Error(`transaction ${hash} reverted`);
  return hash;
}

function Steps({ steps }: { steps: Step[] }) {
  const { t } = useI18n();
  return html`<ol class="steps" data-testid="steps" aria-live="polite">
    ${steps.map((s) => html`<li key=${s.key} class=${`step ${s.state}`} data-step=${s.key} data-state=${s.state}>${s.state === "done" ? "✓" : s.state === "busy" ? "…" : s.state === "failed" ? "✗" : "○"} ${t(s.key)}${s.hash ? html` <span class="mono muted" title=${s.hash}>${s.hash.slice(0, 10)}…</span>` : null}</li>`)}
  </ol>`;
}

const total = (bs: Balance[], c: string) => bs.find((b) => b.currency === c)?.balance ?? "0";

/**
 * Deposit from the connected wallet (ERC-20 approve, then vault.deposit: transactions the
 * gateway encodes, the wallet signs and sends) until the ledger credits it; withdraw to the
 * same wallet until the vault has paid it on chain.
 */
export function Funding({ data, address, settings }: { data: AccountData; address: string; settings: Settings | null }) {
  const { t, lang } = useI18n();
  const currencies = data.holdings?.items.map((i) => i.currency) ?? data.balances.map((b) => b.currency);
  const [mode, setMode] = useState<"deposit" | "withdraw">("deposit");
  const [currency, setCurrency] = useState("VND");
  const [amount, setAmount] = useAmountInput(lang);
  const [steps, setSteps] = useState<Step[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Problem | null>(null);
  const [result, setResult] = useState<{ key: Key; value: string; currency: string } | null>(null);
  const mark = (i: number, state: StepState, hash?: string) => setSteps((ss) => ss.map((s, j) => (j === i ? { ...s, state, hash: hash ?? s.hash } : s)));

  const deposit = async (value: string) => {
    const before = total(data.balances, currency);
    const plan = await apiPost<{ from: string; transactions: Array<{ step: string; to: string; data: string }> }>("/api/v1/sen/wallet/deposit-transactions", { currency, amount: value });
    setSteps([{ key: "stepApprove", state: "busy" }, { key: "stepDeposit", state: "todo" }, { key: "stepCredit", state: "todo" }]);
    for (const [i, tx] of plan.transactions.entries()) {
      mark(i, "busy");
      mark(i, "done", await sendAndWait(address, tx));
    }
    mark(2, "busy");
    const target = add(before, value);
    await until(async () => {
      const bs = await apiGet<Balance[]>("/api/v1/accounts");
      return compare(total(bs, currency), target) >= 0 ? true : undefined;
    });
    mark(2, "done");
    setResult({ key: "credited", value, currency });
  };
  const withdraw = async (value: string) => {
    setSteps([{ key: "stepRequest", state: "busy" }, { key: "stepPaid", state: "todo" }]);
    const { withdrawalId } = await apiPost<{ withdrawalId: string }>("/api/v3/withdrawals", { currency, toAddress: address, amount: value, withdrawType: "ADDRESS" });
    mark(0, "done");
    mark(1, "busy");
    const w = await until(async () => {
      const r = await apiGet<Paged<Withdrawal>>("/api/v1/withdrawals");
      const x = r.items.find((i) => i.id === withdrawalId);
      return x && x.status !== "PROCESSING" ? x : undefined;
    });
    if (w.status !== "SUCCESS") {
      mark(1, "failed");
      throw new Error(w.remark || w.status);
    }
    mark(1, "done", w.walletTxId ?? undefined);
    setResult({ key: "paid", value, currency });
  };
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    setResult(null);
    const value = parseInput(amount, lang);
    if (!value) return setError({ key: "badNumber" });
    setBusy(true);
    try {
      await (mode === "deposit" ? deposit(value) : withdraw(value));
      data.reload();
    } catch (err) {
      setSteps((ss) => ss.map((s) => (s.state === "busy" ? { ...s, state: "failed" } : s)));
      setError(toProblem(err));
    } finally {
      setBusy(false);
    }
  };
  const held = data.holdings?.items.find((i) => i.currency === currency);
  return html`<section class="panel funding" aria-labelledby="fund-h">
    <h2 id="fund-h">${t("funding")}</h2>
    <div class="segmented" role="group">
      <button type="button" aria-pressed=${mode === "deposit"} data-testid="mode-deposit" onClick=${() => (setMode("deposit"), setSteps([]), setResult(null))}>${t("deposit")}</button>
      <button type="button" aria-pressed=${mode === "withdraw"} data-testid="mode-withdraw" onClick=${() => (setMode("withdraw"), setSteps([]), setResult(null))}>${t("withdraw")}</button>
    </div>
    <form onSubmit=${submit} data-testid="funding-form" novalidate>
      <label>${t("currency")}<select value=${currency} data-testid="fund-currency" onChange=${(e: Event) => setCurrency((e.target as HTMLSelectElement).value)}>${currencies.map((c) => html`<option key=${c}>${c}</option>`)}</select></label>
      <p class="muted">${mode === "deposit" ? `${t("inWallet")}: ${held ? formatAmount(held.wallet, currency, lang) : "—"}` : `${t("available")}: ${formatAmount(data.balances.find((b) => b.currency === currency)?.available ?? "0", currency, lang)}`}</p>
      <label>${t("amount")}<input inputmode="decimal" data-testid="fund-amount" value=${amount} onInput=${(e: Event) => setAmount((e.target as HTMLInputElement).value)} /></label>
      <button type="submit" class="primary" disabled=${busy} data-testid="fund-submit">${mode === "deposit" ? t("deposit") : t("withdraw")}</button>
    </form>
    ${steps.length ? html`<${Steps} steps=${steps} />` : null}
    ${result ? html`<p class="ok" role="status" data-testid="fund-result">${t(result.key)}: ${formatAmount(result.value, result.currency, lang)}</p>` : null}
    ${error ? html`<p class="error" role="alert" data-testid="fund-error"><${ProblemText} problem=${error} /></p>` : null}
    ${settings?.vault ? html`<p class="muted small">Vault <span class="mono">${settings.vault}</span></p>` : null}
  </section>`;
}
