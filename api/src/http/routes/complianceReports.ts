import { createHash } from "node:crypto";
import { z } from "zod/v4";
import type { AuditEvent, AuditEventType } from "../../compliance/audit/auditEvent.ts";
import type { Principal } from "../../auth/types.ts";
import type { AppContext } from "../../context.ts";
import { SenError } from "../../errors/SenError.ts";
import type { AlertRule } from "../../compliance/surveillance/types.ts";
import { ValidationError } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";
import { csvCell } from "./compliance.ts";

/**
 * Reports a regulator asks for (docs/compliance-reports.md): large-value transactions per
 * customer and day (AML Law 2022 Art. 25, Decision 11/2023/QĐ-TTg) and a suspicious-transaction
 * report draft from a surveillance alert (Art. 26). Built from the audit log only; nothing is
 * sent anywhere. Each report produced is itself audited (`report.generated`, with the SHA-256
 * of the exact bytes handed to the officer).
 */

/** Decision 11/2023/QĐ-TTg Art. 3: VND 400,000,000. */
export const LARGE_VALUE_THRESHOLD_VND = 400_000_000n;
/** Vietnam time, UTC+07:00 all year (no daylight saving): the reporting day runs 17:00Z to 17:00Z. */
const VIETNAM_OFFSET_MS = 7 * 3_600_000;
/** What Sen can say about itself; licence number and address are the officer's to fill in. */
export const REPORTING_ENTITY = {
  name: "Sen",
  kind: "crypto-asset trading platform (pilot, Resolution 05/2025/NQ-CP)",
  licence: "to be completed by the compliance officer",
  address: "to be completed by the compliance officer",
} as const;
const INVESTOR_TYPES: Record<number, string> = { 1: "retail", 2: "professional", 3: "institutional" };
/** The alert rules in words, for a reader who has not seen the surveillance code. */
export const RULE_IN_WORDS: Record<AlertRule, string> = {
  WASH_SAME_IDENTITY: "Wash trading: the same person (one e-ID) on both sides of trades, so no ownership changed hands",
  WASH_RING: "Wash trading ring: a group of identities traded back and forth and ended where they started, with no net change of ownership",
  SPOOFING: "Spoofing: large orders placed and cancelled before they could trade, moving the price others saw",
  QUOTE_STUFFING: "Quote stuffing: an unusually high rate of orders and cancellations in a short time",
  MARKING_THE_CLOSE: "Marking the close: trades near the end of the period that moved the closing price",
  SETTLEMENT_FAILED: "A trade the on-chain settlement vault refused (e.g. an identity or holder rule no longer met)",
};

const dateParam = z
  .string()
  .regex(/^\d{4}-\d\d-\d\d$/, "a date YYYY-MM-DD (a day in Vietnam time, UTC+07:00)")
  .refine((s) => {
    const ms = Date.parse(`${s}T00:00:00Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === s;
  }, "not a calendar date");
const largeValueQuery = z
  .object({
    date: dateParam,
    format: z.enum(["json", "csv"]).default("json"),
    threshold: z.string().regex(/^[1-9]\d{0,17}$/, "a whole number of đồng, at least 1").optional(),
    asOfSeq: z
      .string()
      .regex(/^\d{1,15}$/, "an audit seq (a report's asOfSeq)")
      .transform(Number)
      .optional(),
  })
  .strict();
const strQuery = z.object({ format: z.enum(["json", "csv"]).default("json") }).strict();
const strBody = z.object({ narrative: z.string().trim().max(4000).optional() }).strict();

/** Amounts in the log have at most 18 decimals: sums are kept in 10^-18 đồng, floored once at the end. */
const VND_SCALE = 10n ** 18n;

/** Decimal text in display units → 10^-18 đồng (exact); undefined for text that is not a decimal. */
export function vndMinorOf(text: string | undefined): bigint | undefined {
  if (!text || !/^\d{1,30}(\.\d{1,18})?$/.test(text)) return undefined;
  const [whole, frac = ""] = text.split(".");
  return BigInt(whole) * VND_SCALE + BigInt(frac.padEnd(18, "0"));
}

/** 10^-18 đồng → whole đồng, floored (sums are floored after adding, never each amount). */
export const flooredVnd = (minor: bigint): bigint => minor / VND_SCALE;

const vndTextOf = (text: string | undefined) => {
  const m = vndMinorOf(text);
  return m === undefined ? "" : vndText(m);
};

/** An amount as the log has it, without trailing zeros ("1.50" → "1.5", "7.0" → "7"). */
function vndText(minor: bigint): string {
  const whole = minor / VND_SCALE;
  const frac = (minor % VND_SCALE).toString().padStart(18, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole.toString();
}

/** `2026-11-23T16:55:00.000000Z` → `2026-11-23T23:55:00.000000+07:00`. */
export function vietnamTime(iso: string): string {
  const m = /^(.*)T(\d\d:\d\d:\d\d)(\.\d+)?Z$/.exec(iso);
  if (!m) return iso;
  const local = new Date(Date.parse(`${m[1]}T${m[2]}Z`) + VIETNAM_OFFSET_MS).toISOString().slice(0, 19);
  return `${local}${m[3] ?? ""}+07:00`;
}

type Kyc = { kycLevel: number; country: number; investorType: string; expiresAt: string; issuer: string; revoked: boolean } | null;
type Customer = { identityHash: string; kyc: Kyc; wallets: string[] };

/** What Sen holds about an e-ID: the registry's attributes (never a name or document number) and its wallets. */
function customerOf(ctx: AppContext, identityHash: string, seen: Iterable<string>): Customer {
  const state = ctx.holderView?.states()[0];
  const wallets = new Set<string>(seen);
  for (const w of state?.walletsOf(identityHash) ?? []) wallets.add(w);
  let kyc: Kyc = null;
  for (const w of wallets) {
    const r = state?.identityOf(w);
    if (r && r.identityHash.toLowerCase() === identityHash.toLowerCase()) {
      kyc = { kycLevel: r.kycLevel, country: r.country, investorType: INVESTOR_TYPES[r.investorType] ?? String(r.investorType), expiresAt: new Date(r.expiresAt * 1000).toISOString(), issuer: r.issuer, revoked: r.revoked };
      break;
    }
  }
  return { identityHash, kyc, wallets: [...wallets].sort() };
}

/**
 * The e-ID an event belongs to. A deposit made before the account's first order carries no
 * identity in the log; the registry's binding of its wallet (as the gateway's chain view holds
 * it now) fills it in.
 */
function identityOfEvent(e: AuditEvent, ctx: AppContext): string {
  if (e.identityHash) return e.identityHash.toLowerCase();
  const wallet = e.wallet ?? e.account;
  return (wallet && ctx.holderView?.states()[0]?.identityOf(wallet.toLowerCase())?.identityHash.toLowerCase()) || "";
}

export type LargeValueRow = {
  identityHash: string;
  wallet: string;
  time: string;
  timeVietnam: string;
  type: "trade.buy" | "trade.sell" | "deposit" | "withdrawal";
  amountVnd: string;
  asset: string;
  assetQuantity: string;
  price: string;
  symbol: string;
  counterpartyIdentityHash: string;
  counterpartyWallet: string;
  reference: string;
  auditSeq: number;
};

const LV_TYPES: AuditEventType[] = ["order.filled", "deposit", "withdrawal.completed"];

/** A transaction's row and the đồng it counts for; undefined when it has no VND value (e.g. a token deposit). */
function largeValueRow(e: AuditEvent, ctx: AppContext): LargeValueRow | undefined {
  if (e.currency !== "VND") return undefined;
  const vnd = vndMinorOf(e.amount);
  if (vnd === undefined) return undefined;
  const base = { identityHash: identityOfEvent(e, ctx), wallet: e.wallet ?? e.account ?? "", time: e.ts, timeVietnam: vietnamTime(e.ts), amountVnd: vndText(vnd), auditSeq: e.seq };
  if (e.type === "order.filled") {
    const m = e.symbol ? ctx.catalog.market(e.symbol) : undefined;
    return {
      ...base,
      type: e.side === "sell" ? "trade.sell" : "trade.buy",
      asset: m?.base ?? "",
      assetQuantity: e.qty ?? "",
      price: e.price ?? "",
      symbol: e.symbol ?? "",
      counterpartyIdentityHash: e.counterpartyIdentityHash ?? "",
      counterpartyWallet: e.counterpartyAccount ?? "",
      reference: e.tradeId ?? "",
    };
  }
  // The chain's deposit id, or the withdrawal's transaction hash (the type column says which).
  const ref = e.type === "deposit" ? String(e.detail?.ref ?? "") : (e.txHash ?? "");
  return { ...base, type: e.type === "deposit" ? "deposit" : "withdrawal", asset: "VND", assetQuantity: e.amount ?? "", price: "", symbol: "", counterpartyIdentityHash: "", counterpartyWallet: "", reference: ref };
}

export const LARGE_VALUE_CSV_COLUMNS = [
  "reportingEntity", "reportDate", "identityHash", "kycLevel", "country", "investorType", "kycExpiresAt", "kycIssuer", "kycRevoked", "wallets", "dayTotalVnd",
  "time", "timeVietnam", "type", "amountVnd", "asset", "assetQuantity", "price", "symbol", "counterpartyIdentityHash", "counterpartyWallet", "reference", "auditSeq",
] as const;

export function complianceReportRoutes(ctx: AppContext): Route[] {
  const { audit } = ctx;
  const c = { auth: "signedOrSession", roles: ["compliance"], tag: "compliance" } as const;

  /** Every event of `types` in [from, to) and below audit seq `toSeq`, oldest first, a page at a time. */
  async function* eventsIn(types: AuditEventType[], from: string, to: string, toSeq: number): AsyncGenerator<AuditEvent> {
    let page = await audit.index.query({ types, from, to, toSeq, limit: 5_000, order: "asc" });
    for (;;) {
      yield* page.items;
      if (!page.nextCursor) return;
      page = await audit.index.query({ types, from, to, toSeq, cursor: page.nextCursor, limit: 5_000, order: "asc" });
    }
  }

  /** Records who produced which report and the hash of its bytes, durably, before the bytes leave. */
  async function recordReport(principal: Principal | null, ip: string, report: string, params: Record<string, unknown>, rows: number, bytes: string): Promise<string> {
    const sha256 = createHash("sha256").update(bytes, "utf8").digest("hex");
    const p = principal!;
    audit.record({ type: "report.generated", actor: p.accountId, account: p.accountId, wallet: p.accountId, identityHash: p.identityHash, ip, reason: report, detail: { report, params, rows, sha256, bytes: Buffer.byteLength(bytes, "utf8") } });
    await audit.flush();
    return sha256;
  }

  return [
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/reports/large-value",
      summary:
        "Large-value transactions of one day in Vietnam time (UTC+7): every customer (e-ID) whose trades, deposits and withdrawals in VND add up to the threshold or more that day (default VND 400,000,000, Decision 11/2023/QĐ-TTg), with each transaction; JSON or CSV; audited",
      query: largeValueQuery,
      handler: async ({ query, principal, ip, res }) => {
        const q = query as z.infer<typeof largeValueQuery>;
        const threshold = q.threshold === undefined ? LARGE_VALUE_THRESHOLD_VND : BigInt(q.threshold);
        const start = Date.parse(`${q.date}T00:00:00Z`) - VIETNAM_OFFSET_MS;
        const from = new Date(start).toISOString();
        const to = new Date(start + 86_400_000).toISOString();
        // Everything recorded so far is indexed, then the report is cut at the index's end (or at
        // the asOfSeq of an earlier report, to produce it again): both passes see the same
        // events, and events appended meanwhile (the day may be today) wait for the next report.
        await audit.flush();
        const indexedThrough = (await audit.index.lastSeq()) + 1;
        if (q.asOfSeq !== undefined && q.asOfSeq > indexedThrough) throw new ValidationError(`asOfSeq: the audit log holds ${indexedThrough} events`);
        const asOfSeq = q.asOfSeq ?? indexedThrough;
        // Two passes: totals first, then the rows of the customers over the threshold, so a busy
        // day costs memory per customer, not per transaction.
        const minor = new Map<string, bigint>();
        const keyOf = (r: LargeValueRow) => r.identityHash || `wallet:${r.wallet.toLowerCase()}`;
        for await (const e of eventsIn(LV_TYPES, from, to, asOfSeq)) {
          const row = largeValueRow(e, ctx);
          if (row) minor.set(keyOf(row), (minor.get(keyOf(row)) ?? 0n) + vndMinorOf(row.amountVnd)!);
        }
        const totals = new Map([...minor].map(([k, v]) => [k, flooredVnd(v)]));
        const reported = new Set([...totals].filter(([, v]) => v >= threshold).map(([k]) => k));
        const rows: LargeValueRow[] = [];
        const wallets = new Map<string, Set<string>>();
        const counts = new Map<string, number>();
        if (reported.size > 0) {
          for await (const e of eventsIn(LV_TYPES, from, to, asOfSeq)) {
            const row = largeValueRow(e, ctx);
            if (!row) continue;
            const k = keyOf(row);
            if (!reported.has(k)) continue;
            rows.push(row);
            counts.set(k, (counts.get(k) ?? 0) + 1);
            if (row.wallet) wallets.set(k, (wallets.get(k) ?? new Set()).add(row.wallet));
          }
        }
        const customers = [...reported].sort().map((k) => ({
          ...(k.startsWith("wallet:") ? { identityHash: "", kyc: null, wallets: [k.slice(7)] } : customerOf(ctx, k, wallets.get(k) ?? [])),
          dayTotalVnd: totals.get(k)!.toString(),
          transactions: counts.get(k) ?? 0,
        }));
        const report = {
          report: "large-value-transactions",
          status: "for review by the compliance officer before filing; not sent anywhere",
          legalBasis: "Law on Anti-Money Laundering No. 14/2022/QH15, Art. 25; Decision 11/2023/QĐ-TTg (VND 400,000,000)",
          reportingEntity: REPORTING_ENTITY,
          reportDate: q.date,
          timeZone: "Vietnam time, UTC+07:00",
          period: { from, to },
          // The log's events below this seq (a tree size); ?asOfSeq= gives the same rows again.
          asOfSeq,
          thresholdVnd: threshold.toString(),
          aggregation: "per customer (e-ID) and day: trades (both sides) plus VND deposits and withdrawals, summed; reported when the day's sum is at or above the threshold",
          generatedAt: new Date(ctx.now()).toISOString(),
          generatedBy: principal!.accountId,
          customers,
          rows,
        };
        const params = { date: q.date, threshold: threshold.toString(), format: q.format, asOfSeq };
        if (q.format === "json") {
          const sha = await recordReport(principal, ip, "large-value", params, rows.length, JSON.stringify(report));
          res.setHeader("x-sen-report-sha256", sha);
          return report;
        }
        const byKey = new Map(customers.map((cu) => [cu.identityHash || `wallet:${cu.wallets[0]}`, cu]));
        let csv = `${LARGE_VALUE_CSV_COLUMNS.join(",")}\n`;
        for (const r of rows) {
          const cu = byKey.get(r.identityHash || `wallet:${r.wallet.toLowerCase()}`);
          const kyc = cu?.kyc;
          const cells = [
            REPORTING_ENTITY.name, q.date, r.identityHash, kyc?.kycLevel, kyc?.country, kyc?.investorType, kyc?.expiresAt, kyc?.issuer, kyc?.revoked, cu?.wallets.join(" "), cu?.dayTotalVnd,
            r.time, r.timeVietnam, r.type, r.amountVnd, r.asset, r.assetQuantity, r.price, r.symbol, r.counterpartyIdentityHash, r.counterpartyWallet, r.reference, r.auditSeq,
          ];
          csv += `${cells.map(csvCell).join(",")}\n`;
        }
        const sha = await recordReport(principal, ip, "large-value", params, rows.length, csv);
        res.status(200);
        res.setHeader("content-type", "text/csv; charset=utf-8");
        res.setHeader("content-disposition", `attachment; filename="sen-large-value-${q.date}.csv"`);
        res.setHeader("x-sen-report-sha256", sha);
        res.end(csv);
        return undefined;
      },
    }),
    defineRoute({
      ...c,
      method: "post",
      path: "/api/v1/compliance/alerts/:alertId/str-draft",
      summary: "A suspicious-transaction report DRAFT from a surveillance alert and its evidence (AML Law 2022 Art. 26 content), JSON or CSV; never sent; audited",
      query: strQuery,
      body: strBody,
      handler: async ({ params, query, body, principal, ip, res }) => {
        const alertId = z.string().min(1).max(128).safeParse(params.alertId);
        if (!alertId.success) throw new ValidationError("alertId: 1-128 characters");
        const q = query as z.infer<typeof strQuery>;
        const b = body as z.infer<typeof strBody>;
        const alert = await audit.index.alert(alertId.data);
        if (!alert) throw new SenError("COMPLIANCE_NOT_FOUND", `No alert with id ${alertId.data}`);
        const evidence = await audit.index.eventsBySeq(alert.eventSeqs.slice(0, 1000));
        const transactions = evidence.map((e) => ({
          time: e.ts,
          timeVietnam: vietnamTime(e.ts),
          event: e.type,
          identityHash: e.identityHash ?? "",
          wallet: e.wallet ?? e.account ?? "",
          symbol: e.symbol ?? "",
          side: e.side ?? "",
          price: e.price ?? "",
          quantity: e.qty ?? "",
          amountVnd: e.currency === "VND" ? vndTextOf(e.amount) : "",
          counterpartyIdentityHash: e.counterpartyIdentityHash ?? "",
          counterpartyWallet: e.counterpartyAccount ?? "",
          reference: e.tradeId ? `trade ${e.tradeId}` : e.orderId ? `order ${e.orderId}` : e.txHash ? `tx ${e.txHash}` : "",
          auditSeq: e.seq,
        }));
        // Trades appear once per side in the log: the value traded counts each trade once.
        const tradeValue = new Map<string, bigint>();
        for (const e of evidence) if (e.type === "order.filled" && e.tradeId && e.currency === "VND") tradeValue.set(e.tradeId, vndMinorOf(e.amount) ?? 0n);
        const totalVnd = flooredVnd([...tradeValue.values()].reduce((a, v) => a + v, 0n));
        const times = evidence.map((e) => e.ts).sort();
        const accountsFrozen = alert.accounts.filter((a) => ctx.queries.isFrozen(a) !== undefined);
        const wallets = new Map<string, Set<string>>();
        for (const e of evidence) if (e.identityHash && (e.wallet ?? e.account)) wallets.set(e.identityHash.toLowerCase(), (wallets.get(e.identityHash.toLowerCase()) ?? new Set()).add((e.wallet ?? e.account)!));
        const draft = {
          report: "suspicious-transaction-report",
          status: "DRAFT — not sent; the compliance officer reviews, completes and files it",
          legalBasis: "Law on Anti-Money Laundering No. 14/2022/QH15, Art. 26 (suspicious transaction reports)",
          reportingEntity: REPORTING_ENTITY,
          preparedAt: new Date(ctx.now()).toISOString(),
          preparedBy: principal!.accountId,
          alert: { alertId: alert.alertId, rule: alert.rule, severity: alert.severity, raisedAt: alert.ts, symbol: alert.symbol ?? "", status: alert.status, auditSeq: alert.seq },
          customers: alert.identityHashes.map((h) => customerOf(ctx, h, wallets.get(h.toLowerCase()) ?? [])),
          accounts: alert.accounts,
          reasonsForSuspicion: { rule: RULE_IN_WORDS[alert.rule] ?? alert.rule, summary: alert.summary, measurements: alert.detail },
          transactionsSummary: {
            events: transactions.length,
            trades: tradeValue.size,
            totalTradedVnd: totalVnd.toString(),
            firstTime: times[0] ?? "",
            lastTime: times.at(-1) ?? "",
          },
          transactions,
          actionsTaken: {
            alertStatus: alert.status,
            reviewedBy: alert.statusBy ?? "",
            reviewNote: alert.statusNote ?? "",
            accountsFrozen,
          },
          narrative: b.narrative ?? "",
        };
        const params2 = { alertId: alert.alertId, format: q.format };
        if (q.format === "json") {
          const sha = await recordReport(principal, ip, "str-draft", params2, transactions.length, JSON.stringify(draft));
          res.setHeader("x-sen-report-sha256", sha);
          return draft;
        }
        // Two blocks: the report's fields (field,value), a blank line, then the transactions table.
        const kv: Array<[string, unknown]> = [
          ["status", draft.status],
          ["legalBasis", draft.legalBasis],
          ["reportingEntity", `${REPORTING_ENTITY.name}, ${REPORTING_ENTITY.kind}`],
          ["preparedAt", draft.preparedAt],
          ["preparedBy", draft.preparedBy],
          ["alertId", alert.alertId],
          ["rule", draft.reasonsForSuspicion.rule],
          ["summary", alert.summary],
          ["measurements", alert.detail],
          ...draft.customers.map((cu, i) => [`customer${i + 1}`, { identityHash: cu.identityHash, ...cu.kyc, wallets: cu.wallets }] as [string, unknown]),
          ["accounts", alert.accounts.join(" ")],
          ["totalTradedVnd", draft.transactionsSummary.totalTradedVnd],
          ["firstTime", draft.transactionsSummary.firstTime],
          ["lastTime", draft.transactionsSummary.lastTime],
          ["alertStatus", alert.status],
          ["reviewedBy", draft.actionsTaken.reviewedBy],
          ["reviewNote", draft.actionsTaken.reviewNote],
          ["accountsFrozen", accountsFrozen.join(" ")],
          ["narrative", draft.narrative],
        ];
        const cols = Object.keys(transactions[0] ?? { time: "" }) as Array<keyof (typeof transactions)[number]>;
        let csv = "field,value\n";
        for (const [k, v] of kv) csv += `${csvCell(k)},${csvCell(v)}\n`;
        csv += `\n${cols.join(",")}\n`;
        for (const t of transactions) csv += `${cols.map((k) => csvCell(t[k])).join(",")}\n`;
        const sha = await recordReport(principal, ip, "str-draft", params2, transactions.length, csv);
        res.status(200);
        res.setHeader("content-type", "text/csv; charset=utf-8");
        res.setHeader("content-disposition", `attachment; filename="sen-str-draft-${alert.alertId.replace(/[^A-Za-z0-9_-]/g, "_")}.csv"`);
        res.setHeader("x-sen-report-sha256", sha);
        res.end(csv);
        return undefined;
      },
    }),
  ];
}
