import { z } from "zod/v4";
import { parseIsoMicros, type AuditEvent, type AuditEventType } from "../../compliance/audit/auditEvent.ts";
import { AuditCode, AuditError } from "../../compliance/audit/errors.ts";
import type { AppContext } from "../../context.ts";
import { formatUnits, parseUnits } from "../../money/decimal.ts";
import { ValidationError } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";

/** The bizType filter codes KuCoin takes, and the bizType its entries carry; the last three are Sen's. */
const BIZ_TYPES = {
  TRADE_EXCHANGE: "Exchange",
  DEPOSIT: "Deposit",
  WITHDRAW: "Withdrawal",
  TAX_WITHHOLDING: "Tax withholding",
  TRADE_REVERSAL: "Trade reversal",
  CUSTODY_DEBIT: "Custody debit",
} as const;
// KuCoin codes for movements Sen does not have: accepted, and they match nothing.
const OTHER_KUCOIN_BIZ_TYPES = ["TRANSFER", "SUB_TRANSFER", "MARGIN_EXCHANGE", "KUCOIN_BONUS", "BROKER_TRANSFER"] as const;
type BizType = (typeof BIZ_TYPES)[keyof typeof BIZ_TYPES];

const TYPES: AuditEventType[] = ["order.filled", "deposit", "withdrawal.completed", "settlement.resolved", "custody.debited"];
const PAGE = 5_000;
/** Audit events one request may read: a wider period is refused (KuCoin bounds its periods too). */
const MAX_SCAN = 100_000;
const LAST_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

const ms = z.coerce.number().int().nonnegative().max(LAST_MS);
const bothTimes = (q: { startAt?: unknown; endAt?: unknown }) => typeof q.startAt === "number" && typeof q.endAt === "number";

const ledgerQuery = z
  .object({
    // KuCoin takes up to 10 currencies, comma-separated.
    currency: z.string().regex(/^[A-Z0-9]{1,12}(,[A-Z0-9]{1,12}){0,9}$/, "up to 10 currencies, comma-separated").optional(),
    direction: z.enum(["in", "out"]).optional(),
    bizType: z.enum([...(Object.keys(BIZ_TYPES) as Array<keyof typeof BIZ_TYPES>), ...OTHER_KUCOIN_BIZ_TYPES]).optional(),
    startAt: ms.optional(),
    endAt: ms.optional(),
    currentPage: z.coerce.number().int().min(1).max(1_000_000).default(1),
    pageSize: z.coerce.number().int().min(1).max(500).default(50),
  })
  .refine((q) => !bothTimes(q) || q.startAt! <= q.endAt!, { message: "startAt must not be after endAt", path: ["endAt"] });
type LedgerQuery = z.infer<typeof ledgerQuery>;

export type LedgerEntry = {
  id: string;
  currency: string;
  amount: string;
  fee: string;
  accountType: "TRADE";
  bizType: BizType;
  direction: "in" | "out";
  createdAt: number;
  context: string;
};

/**
 * KuCoin's account ledger (GET /api/v1/accounts/ledgers, ccxt `fetchLedger`) for the caller's
 * own trading account, newest first, read from the audit trail: each fill as a base and a quote
 * entry, the income tax withheld from each sale as an entry of its own (issue #13), deposits,
 * completed withdrawals, trades reversed after a failed settlement and custody the token's agent
 * took from the vault (recovery or seizure: bizType "Custody debit"). As on KuCoin, `amount` is
 * what the balance gained or lost, fees included (a buy's quote entry is the cost plus the fee,
 * a sale's the proceeds less the fee) and `fee` says how much of it was the fee; so a currency's
 * balance moves by Σ in − Σ out. No `balance` field: the trail read for a page does not give the
 * balance after each entry exactly.
 */
export function ledgerRoutes(ctx: AppContext): Route[] {
  const { audit, catalog } = ctx;
  const taxRuleId = ctx.pilot.rules.tax.ruleId;

  const decimalsOf = (currency: string, e: AuditEvent) => {
    const c = catalog.currency(currency);
    if (!c) throw new AuditError(AuditCode.BAD_RANGE, `${e.type} seq ${e.seq}: unknown currency ${currency}`);
    return c.decimals;
  };
  const units = (text: unknown, decimals: number): bigint | undefined => {
    const r = typeof text === "string" ? parseUnits(text, decimals) : undefined;
    return r?.ok ? r.value : undefined;
  };

  /** The market, base quantity, sale value, fee and tax of one side of a trade, as its audit event records them. */
  function sideOf(e: AuditEvent, detail: { fee?: unknown; tax?: unknown }) {
    const market = e.symbol ? catalog.market(e.symbol) : undefined;
    if (!market || !e.tradeId) throw new AuditError(AuditCode.BAD_RANGE, `${e.type} seq ${e.seq}: unknown market ${e.symbol}`);
    const quoteDecimals = decimalsOf(market.quote, e);
    const qty = units(e.qty, decimalsOf(market.base, e));
    const funds = units(e.amount, quoteDecimals);
    const fee = units(detail.fee, quoteDecimals);
    const tax = units(detail.tax, quoteDecimals);
    // Events recorded before the fee (and, earlier, the tax) was: the ledger cannot speak for them.
    if (qty === undefined || funds === undefined || fee === undefined || tax === undefined) throw new AuditError(AuditCode.BAD_RANGE, `${e.type} seq ${e.seq} has no sale value, fee or tax (recorded before the ledger could read them?): choose a later startAt`);
    return { market, qty, funds, fee, tax };
  }

  /** The entries one audit event makes in `account`'s ledger, in a fixed order. */
  function entriesOf(e: AuditEvent, account: string): LedgerEntry[] {
    const createdAt = Number(parseIsoMicros(e.ts) / 1000n);
    const entry = (suffix: string, currency: string, direction: "in" | "out", amount: bigint, bizType: BizType, context: Record<string, unknown>, fee = 0n): LedgerEntry => {
      const decimals = decimalsOf(currency, e);
      return { id: `${e.seq}${suffix}`, currency, amount: formatUnits(amount, decimals), fee: formatUnits(fee, decimals), accountType: "TRADE", bizType, direction, createdAt, context: JSON.stringify(context) };
    };
    switch (e.type) {
      case "custody.debited": {
        const amount = e.currency ? units(e.amount, decimalsOf(e.currency, e)) : undefined;
        if (!e.currency || amount === undefined) throw new AuditError(AuditCode.BAD_RANGE, `${e.type} seq ${e.seq} has no amount`);
        return [entry("", e.currency, "out", amount, "Custody debit", { orderId: e.detail?.ref, txId: e.txHash, kind: e.detail?.kind, to: e.detail?.to })];
      }
      case "deposit":
      case "withdrawal.completed": {
        const amount = e.currency ? units(e.amount, decimalsOf(e.currency, e)) : undefined;
        if (!e.currency || amount === undefined) throw new AuditError(AuditCode.BAD_RANGE, `${e.type} seq ${e.seq} has no amount`);
        if (e.type === "deposit") return [entry("", e.currency, "in", amount, "Deposit", { orderId: e.detail?.ref })];
        return [entry("", e.currency, "out", amount, "Withdrawal", { orderId: e.detail?.withdrawalId, txId: e.txHash })];
      }
      case "order.filled": {
        // A buyer has no tax withheld (its event carries none).
        const s = sideOf(e, { fee: e.detail?.fee, tax: e.side === "buy" ? "0" : e.detail?.tax });
        const context = { symbol: e.symbol, orderId: e.orderId, tradeId: e.tradeId };
        const buy = e.side === "buy";
        const out: LedgerEntry[] = [
          entry("-base", s.market.base, buy ? "in" : "out", s.qty, "Exchange", context),
          entry("-quote", s.market.quote, buy ? "out" : "in", buy ? s.funds + s.fee : s.funds - s.fee, "Exchange", context, s.fee),
        ];
        if (!buy && s.tax > 0n) out.push(entry("-tax", s.market.quote, "out", s.tax, "Tax withholding", { ...context, taxRuleId }));
        return out;
      }
      case "settlement.resolved": {
        if (e.detail?.action !== "reverse") return [];
        // Each side gives back what the trade gave it: the buyer its units, for the cost and its
        // fee; the seller the proceeds it kept (less its fee and the tax), for its units.
        const out: LedgerEntry[] = [];
        const context = { symbol: e.symbol, tradeId: e.tradeId };
        if (e.account === account) {
          const s = sideOf(e, { fee: e.detail.buyerFee, tax: "0" });
          out.push(entry("-buyer-base", s.market.base, "out", s.qty, "Trade reversal", context), entry("-buyer-quote", s.market.quote, "in", s.funds + s.fee, "Trade reversal", context));
        }
        if (e.counterpartyAccount === account) {
          const s = sideOf(e, { fee: e.detail.sellerFee, tax: e.detail.sellerTax });
          out.push(entry("-seller-base", s.market.base, "in", s.qty, "Trade reversal", context), entry("-seller-quote", s.market.quote, "out", s.funds - s.fee - s.tax, "Trade reversal", context));
        }
        return out;
      }
      default:
        return [];
    }
  }

  return [
    defineRoute({
      method: "get",
      path: "/api/v1/accounts/ledgers",
      tag: "account",
      summary: "The caller's account ledger, newest first: trades (with the fee), the income tax withheld from sales, deposits, withdrawals",
      auth: "signedOrSession",
      permission: "General",
      query: ledgerQuery,
      handler: async ({ query, principal }) => {
        const q = query as LedgerQuery;
        const account = principal!.accountId;
        const currencies = q.currency?.split(",");
        for (const c of currencies ?? []) if (!catalog.currency(c)) throw new ValidationError(`currency: unknown currency ${c}`);
        const bizType: string | undefined = q.bizType === undefined ? undefined : ((BIZ_TYPES as Record<string, string>)[q.bizType] ?? "");
        const wanted = (x: LedgerEntry) => (!currencies || currencies.includes(x.currency)) && (!q.direction || x.direction === q.direction) && (bizType === undefined || x.bizType === bizType);

        // Everything applied so far is then indexed: a trader sees its last trade.
        await audit.flush();
        const iso = (t: number) => new Date(t).toISOString();
        const period = { from: q.startAt === undefined ? undefined : iso(q.startAt), to: q.endAt === undefined ? undefined : iso(q.endAt + 1) };
        let scanned = 0;
        async function* events(base: { account?: string; types: AuditEventType[] }) {
          let cursor: string | undefined;
          do {
            const page = await audit.index.query({ ...base, ...period, cursor, limit: PAGE, order: "desc" });
            scanned += page.items.length;
            if (scanned > MAX_SCAN) throw new ValidationError(`more than ${MAX_SCAN} account events in the period: narrow it with startAt and endAt`);
            yield* page.items;
            cursor = page.nextCursor;
          } while (cursor);
        }

        // A reversal is recorded under the buyer's account: the seller's are found by type (they are rare).
        const asSeller: AuditEvent[] = [];
        for await (const e of events({ types: ["settlement.resolved"] })) if (e.counterpartyAccount === account && e.account !== account) asSeller.push(e);

        const skip = (q.currentPage - 1) * q.pageSize;
        const items: LedgerEntry[] = [];
        let totalNum = 0;
        const add = (e: AuditEvent) => {
          for (const x of entriesOf(e, account)) {
            if (!wanted(x)) continue;
            if (totalNum >= skip && items.length < q.pageSize) items.push(x);
            totalNum++;
          }
        };
        const newer = (a: AuditEvent, b: AuditEvent) => {
          const [ta, tb] = [parseIsoMicros(a.ts), parseIsoMicros(b.ts)];
          return ta > tb || (ta === tb && a.seq > b.seq);
        };
        let next = 0;
        for await (const e of events({ account, types: TYPES })) {
          while (next < asSeller.length && newer(asSeller[next], e)) add(asSeller[next++]);
          add(e);
        }
        while (next < asSeller.length) add(asSeller[next++]);
        return { currentPage: q.currentPage, pageSize: q.pageSize, totalNum, totalPage: Math.max(1, Math.ceil(totalNum / q.pageSize)), items };
      },
    }),
  ];
}
