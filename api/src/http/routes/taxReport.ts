import { z } from "zod/v4";
import { parseIsoMicros, type AuditEvent } from "../../compliance/audit/auditEvent.ts";
import { AuditCode, AuditError } from "../../compliance/audit/errors.ts";
import type { AppContext } from "../../context.ts";
import { formatUnits, parseUnits } from "../../money/decimal.ts";
import { defineRoute, type Route } from "../route.ts";
import { csvCell, hex32, isoTime } from "./compliance.ts";

const MAX_PERIOD_US = 366n * 86_400n * 1_000_000n;
const PAGE = 5_000;

const bothTimes = (q: { from: unknown; to: unknown }) => isoTime.safeParse(q.from).success && isoTime.safeParse(q.to).success;

const reportQuery = z
  .object({
    from: isoTime,
    to: isoTime,
    format: z.enum(["csv", "json"]).default("json"),
    identityHash: hex32.optional(),
  })
  .strict()
  // zod runs these even when a field failed (its issue is reported already): compare only two valid times.
  .refine((q) => !bothTimes(q) || parseIsoMicros(q.from) < parseIsoMicros(q.to), { message: "from must be before to", path: ["to"] })
  .refine((q) => !bothTimes(q) || parseIsoMicros(q.to) - parseIsoMicros(q.from) <= MAX_PERIOD_US, { message: "a report covers at most 366 days", path: ["to"] });
type ReportQuery = z.infer<typeof reportQuery>;

export const TAX_REPORT_COLUMNS = ["row", "from", "to", "identityHash", "account", "currency", "sales", "reversals", "saleValue", "taxWithheld", "taxRuleId"] as const;

type Sums = { sales: number; reversals: number; saleValue: bigint; taxWithheld: bigint };
type Seller = Sums & { identityHash: string; account: string; currency: string };

/**
 * The personal-income-tax report (issue #13): per seller identity and account, the sales of a
 * period, their value and the tax withheld from them, read from the audit trail's seller-side
 * `order.filled` events (compliance role only). Each report is itself on record (`audit.query`),
 * and covers exactly the events recorded before that record (its `auditSeq`). A sale reversed
 * after a failed settlement gives its tax back: the reversal counts in the period it happens in
 * (`reversals`, its value and tax subtracted), so a period's total is what the tax account
 * gained in it.
 */
export function taxReportRoutes(ctx: AppContext): Route[] {
  const { audit, catalog } = ctx;
  const taxRuleId = ctx.pilot.rules.tax.ruleId;

  const decimalsOf = (currency: string, seq: number) => {
    const c = catalog.currency(currency);
    if (!c) throw new AuditError(AuditCode.BAD_RANGE, `order.filled seq ${seq}: unknown currency ${currency}`);
    return c.decimals;
  };
  const units = (text: unknown, decimals: number, e: AuditEvent, field: string) => {
    const r = typeof text === "string" ? parseUnits(text, decimals) : undefined;
    // Fills recorded before the tax (#13) carry neither value: the report cannot speak for them.
    if (!r?.ok) throw new AuditError(AuditCode.BAD_RANGE, `order.filled seq ${e.seq} has no ${field} (recorded before tax reporting?): choose a later period`);
    return r.value;
  };

  /** Sums as it pages: memory grows with the number of sellers, not of fills. */
  async function aggregate(q: ReportQuery, beforeSeq: number): Promise<Seller[]> {
    const sellers = new Map<string, Seller>();
    const sellerOf = (identityHash: string, account: string, currency: string) => {
      const key = `${identityHash}|${account}|${currency}`;
      let s = sellers.get(key);
      if (!s) sellers.set(key, (s = { identityHash, account, currency, sales: 0, reversals: 0, saleValue: 0n, taxWithheld: 0n }));
      return s;
    };
    const base = { types: ["order.filled" as const], from: q.from, to: q.to, identityHash: q.identityHash, toSeq: beforeSeq, limit: PAGE, order: "asc" as const };
    let cursor: string | undefined;
    do {
      const page = await audit.index.query({ ...base, cursor });
      for (const e of page.items) {
        if (e.side !== "sell" || !e.identityHash || !e.account || !e.currency) continue;
        const decimals = decimalsOf(e.currency, e.seq);
        const identityHash = e.identityHash.toLowerCase();
        const account = e.account.toLowerCase();
        const key = `${identityHash}|${account}|${e.currency}`;
        const s = sellerOf(identityHash, account, e.currency);
        s.sales++;
        s.saleValue += units(e.amount, decimals, e, "sale value");
        s.taxWithheld += units(e.detail?.tax, decimals, e, "tax");
      }
      cursor = page.nextCursor;
    } while (cursor);
    // Reversals name the seller as the counterparty (the event is the buyer's), so they are read unfiltered.
    const reversals = { ...base, types: ["settlement.resolved" as const], identityHash: undefined };
    cursor = undefined;
    do {
      const page = await audit.index.query({ ...reversals, cursor });
      for (const e of page.items) {
        if (e.detail?.action !== "reverse" || !e.counterpartyIdentityHash || !e.counterpartyAccount || !e.currency) continue;
        const identityHash = e.counterpartyIdentityHash.toLowerCase();
        if (q.identityHash && identityHash !== q.identityHash.toLowerCase()) continue;
        const decimals = decimalsOf(e.currency, e.seq);
        const s = sellerOf(identityHash, e.counterpartyAccount.toLowerCase(), e.currency);
        s.reversals++;
        s.saleValue -= units(e.amount, decimals, e, "sale value");
        s.taxWithheld -= units(e.detail?.sellerTax, decimals, e, "tax");
      }
      cursor = page.nextCursor;
    } while (cursor);
    const order = (a: Seller, b: Seller) => (a.identityHash + a.account + a.currency < b.identityHash + b.account + b.currency ? -1 : 1);
    return [...sellers.values()].sort(order);
  }

  return [
    defineRoute({
      auth: "signedOrSession",
      roles: ["compliance"],
      tag: "compliance",
      method: "get",
      path: "/api/v1/sen/compliance/reports/tax",
      summary: "Personal income tax withheld from sales, per seller identity and account, over a period of at most 366 days (CSV or JSON)",
      query: reportQuery,
      handler: async ({ query, principal, ip, res }) => {
        const q = query as ReportQuery;
        const p = principal!;
        const record = audit.record({ type: "audit.query", actor: p.accountId, account: p.accountId, wallet: p.accountId, identityHash: p.identityHash, ip, reason: "taxReport", detail: { ...q, taxRuleId } });
        // Durable before any data leaves, and every event recorded before it is then indexed.
        await audit.flush();
        const sellers = await aggregate(q, record.seq);
        const amount = (currency: string, v: bigint) => formatUnits(v, catalog.currency(currency)!.decimals);
        const rows = sellers.map((s) => ({
          from: q.from,
          to: q.to,
          identityHash: s.identityHash,
          account: s.account,
          sales: s.sales,
          reversals: s.reversals,
          saleValue: amount(s.currency, s.saleValue),
          taxWithheld: amount(s.currency, s.taxWithheld),
          currency: s.currency,
          taxRuleId,
        }));
        const totalsByCurrency = new Map<string, Sums & { sellers: number }>();
        for (const s of sellers) {
          const t = totalsByCurrency.get(s.currency) ?? { sellers: 0, sales: 0, reversals: 0, saleValue: 0n, taxWithheld: 0n };
          totalsByCurrency.set(s.currency, { sellers: t.sellers + 1, sales: t.sales + s.sales, reversals: t.reversals + s.reversals, saleValue: t.saleValue + s.saleValue, taxWithheld: t.taxWithheld + s.taxWithheld });
        }
        // One total per quote currency (all VND today; a listing may quote in another).
        const totals = [...totalsByCurrency].map(([currency, t]) => ({ currency, sellers: t.sellers, sales: t.sales, reversals: t.reversals, saleValue: amount(currency, t.saleValue), taxWithheld: amount(currency, t.taxWithheld) }));
        if (q.format === "json") return { from: q.from, to: q.to, identityHash: q.identityHash?.toLowerCase(), taxRuleId, auditSeq: record.seq, rows, totals };

        const line = (cells: unknown[]) => `${cells.map(csvCell).join(",")}\n`;
        let csv = line([...TAX_REPORT_COLUMNS]);
        for (const r of rows) csv += line(["investor", r.from, r.to, r.identityHash, r.account, r.currency, r.sales, r.reversals, r.saleValue, r.taxWithheld, r.taxRuleId]);
        for (const t of totals) csv += line(["total", q.from, q.to, "", "", t.currency, t.sales, t.reversals, t.saleValue, t.taxWithheld, taxRuleId]);
        res.status(200);
        res.setHeader("content-type", "text/csv; charset=utf-8");
        res.setHeader("content-disposition", 'attachment; filename="sen-tax-report.csv"');
        res.end(csv);
        return undefined;
      },
    }),
  ];
}
