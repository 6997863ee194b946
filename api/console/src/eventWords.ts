import { baseOf, formatAmount, quoteOf, short } from "./format.ts";
import { ruleWords } from "./alertWords.ts";
import type { AuditEvent, AuditEventType } from "./types.ts";

/** Each audit event type in words (typed by the server's list: a new type without words does not type-check). */
export const EVENT_TYPE_WORDS: Record<AuditEventType, string> = {
  "order.received": "Order received",
  "order.accepted": "Order accepted",
  "order.rejected": "Order rejected",
  "order.amended": "Order amended",
  "order.cancelled": "Order cancelled",
  "order.expired": "Order expired",
  "order.stp": "Self-trade prevented",
  "order.triggered": "Stop triggered",
  "order.filled": "Fill",
  "settlement.batch": "Settled on chain",
  "settlement.failed": "Settlement failed",
  "settlement.resolved": "Settlement resolved",
  deposit: "Deposit",
  "deposit.waiting": "Deposit waiting for its listing",
  "withdrawal.requested": "Withdrawal requested",
  "withdrawal.completed": "Withdrawal paid",
  "withdrawal.failed": "Withdrawal failed",
  "custody.debited": "Custody taken by the token's agent",
  "auth.login": "Signed in",
  "auth.loginFailed": "Sign-in failed",
  "auth.logout": "Signed out",
  "apiKey.created": "API key created",
  "apiKey.revoked": "API key revoked",
  "role.changed": "Role changed",
  "risk.limitsChanged": "Risk limits changed",
  killSwitch: "Kill switch",
  "market.halted": "Market halted",
  "market.resumed": "Market resumed",
  "identity.revoked": "e-ID revoked",
  "tax.rateChanged": "Tax rate changed",
  "listing.created": "Listed",
  "listing.refused": "Listing refused",
  "rules.loaded": "Pilot rules loaded",
  "audit.query": "Compliance query",
  "alert.raised": "Alert raised",
  "clock.status": "Clock status",
  "report.generated": "Report generated",
};

export function eventTypeWords(type: string): string {
  return (EVENT_TYPE_WORDS as Record<string, string>)[type] ?? type;
}

/** Why an order was cancelled (the recorder's `reason` values). */
const CANCEL_REASONS: Record<string, string> = {
  user: "by the trader",
  killSwitch: "by the kill switch",
  disconnect: "on disconnect",
  identity: "the e-ID was revoked",
  halt: "the market was halted",
  custody: "its funds left the vault (token agent)",
  ioc: "immediate-or-cancel remainder",
  fok: "fill-or-kill not filled",
  postOnly: "post-only would have taken liquidity",
};

/** A rule code in words: `RISK_INSUFFICIENT_FUNDS` → "insufficient funds" (the code stays in the row's hint). */
export function codeWords(code: string | undefined): string {
  if (!code) return "";
  return code.replace(/^(RISK|ENGINE|TRADING|AUTH|ID|HOLDER|LISTING|SETTLEMENT|AUDIT)_/, "").toLowerCase().replaceAll("_", " ");
}

/** Trade ids are zero-padded to a fixed width: the summary drops the padding (the raw record keeps the id as stored). */
function tradeRef(id: string): string {
  return id.replace(/^0+(?=.)/, "");
}

function orderWords(e: AuditEvent): string {
  const qty = e.qty ? `${formatAmount(e.qty)} ${baseOf(e.symbol) ?? ""}`.trim() : "";
  const price = e.price ? ` @ ${formatAmount(e.price, quoteOf(e.symbol))}` : e.orderType?.includes("market") ? " at market" : "";
  return [e.side, qty].filter(Boolean).join(" ") + price;
}

function detailText(e: AuditEvent, key: string): string | undefined {
  const v = e.detail?.[key];
  return v === undefined || v === null ? undefined : typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** One audit event in a line of words: "buy 10 GOLD @ 1.234.000 ₫, maker, trade 12 vs 0x12ab…cdef". */
export function eventSummary(e: AuditEvent): string {
  const parts: string[] = [];
  const order = orderWords(e);
  const type = e.orderType ? `${e.orderType}${e.tif ? ` ${e.tif}` : ""}` : "";
  switch (e.type) {
    case "order.received":
    case "order.accepted":
      parts.push(order, type);
      if (e.refPrice) parts.push(`reference ${formatAmount(e.refPrice, quoteOf(e.symbol))}`);
      break;
    case "order.rejected":
      parts.push(`rejected: ${e.reason && e.reason !== "refused by the matching engine" ? e.reason : codeWords(e.ruleId) || "refused"}`, order);
      break;
    case "order.amended":
      parts.push(`now ${order}`);
      break;
    case "order.cancelled":
      parts.push(`cancelled${e.reason ? `: ${CANCEL_REASONS[e.reason] ?? e.reason}` : ""}`, e.qty ? `${formatAmount(e.qty)} ${baseOf(e.symbol) ?? ""} left` : "");
      break;
    case "order.stp":
      parts.push("cancelled: the same e-ID on both sides", order);
      break;
    case "order.expired":
    case "order.triggered":
      parts.push(order);
      break;
    case "order.filled":
      parts.push(order, e.liquidity ?? "", e.tradeId ? `trade ${tradeRef(e.tradeId)}` : "", e.counterpartyAccount ? `vs ${short(e.counterpartyAccount)}` : "");
      break;
    case "deposit":
    case "withdrawal.requested":
    case "withdrawal.completed":
    case "withdrawal.failed":
      parts.push(formatAmount(e.amount, e.currency), e.reason ? `: ${e.reason}` : "", e.txHash ? `tx ${short(e.txHash)}` : "");
      break;
    case "deposit.waiting":
      parts.push(`${typeof e.detail?.amount === "string" ? e.detail.amount : "?"} of token ${typeof e.detail?.token === "string" ? short(e.detail.token) : "?"} not credited until it is listed`, e.txHash ? `tx ${short(e.txHash)}` : "");
      break;
    case "custody.debited": {
      const owed = typeof e.detail?.owed === "string" && e.detail.owed !== "0" ? `, ${formatAmount(e.detail.owed, e.currency)} owed` : "";
      parts.push(`${formatAmount(e.amount, e.currency)} ${e.detail?.kind === "seized" ? "seized" : "recovered"} to ${typeof e.detail?.to === "string" ? short(e.detail.to) : "?"}${owed}`, e.txHash ? `tx ${short(e.txHash)}` : "");
      break;
    }
    case "settlement.batch": {
      const ids = e.detail?.tradeIds;
      parts.push(Array.isArray(ids) ? `${ids.length} trade${ids.length === 1 ? "" : "s"}` : "", e.txHash ? `tx ${short(e.txHash)}` : "");
      break;
    }
    case "settlement.failed":
      parts.push(e.tradeId ? `trade ${tradeRef(e.tradeId)}` : "", e.reason ? `refused by the vault: ${e.reason}` : "");
      break;
    case "settlement.resolved":
      parts.push(e.tradeId ? `trade ${tradeRef(e.tradeId)}` : "", detailText(e, "action") ?? "", e.actor ? `by ${short(e.actor)}` : "");
      break;
    case "auth.login":
      parts.push(`as ${detailText(e, "role") ?? "trader"}`, e.ip ? `from ${e.ip}` : "");
      break;
    case "killSwitch":
      parts.push(e.detail?.frozen === false ? "account unfrozen" : "account frozen", e.reason ?? "", e.actor ? `by ${short(e.actor)}` : "");
      break;
    case "audit.query":
      parts.push(
        `${e.reason ?? "query"}${e.detail ? ` (${Object.entries(e.detail)
          .filter(([, v]) => v !== undefined && v !== null && v !== "")
          .map(([k, v]) => `${k} ${typeof v === "string" && v.length > 20 ? short(v) : typeof v === "object" ? JSON.stringify(v) : String(v)}`)
          .join(", ")})` : ""}`,
      );
      break;
    case "alert.raised":
      parts.push(ruleWords(e.ruleId ?? detailText(e, "rule") ?? ""), e.reason ?? "");
      break;
    default:
      parts.push(e.reason ?? "", e.ruleId ? codeWords(e.ruleId) : "", e.amount ? formatAmount(e.amount, e.currency) : "", e.actor ? `by ${short(e.actor)}` : "");
  }
  return parts.filter((p) => p !== "").join(", ").replace(/, :/g, ":");
}
