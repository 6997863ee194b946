import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import { SenError } from "../../errors/SenError.ts";
import { ValidationError } from "../errors.ts";
import { defineRoute, kucoinPage, symbolParam, type Route } from "../route.ts";

/** KuCoin answers trade fees for at most 10 symbols at once. */
const MAX_FEE_SYMBOLS = 10;

/** KuCoin's deposit history and trade-fee routes (ccxt fetchDeposits, fetchTradingFee). */
export function fundingRoutes(ctx: AppContext): Route[] {
  const { queries, format, catalog } = ctx;
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/deposits",
      tag: "account",
      summary: "The caller's deposits, newest first (credited from the settlement vault's Deposited events)",
      auth: "signedOrSession",
      permission: "General",
      query: z.object({
        currency: z.string().max(12).optional(),
        // Credited deposits are final: only SUCCESS ever matches.
        status: z.enum(["PROCESSING", "SUCCESS", "FAILURE"]).optional(),
        startAt: z.coerce.number().int().nonnegative().optional(),
        endAt: z.coerce.number().int().nonnegative().optional(),
        currentPage: z.coerce.number().int().min(1).default(1),
        pageSize: z.coerce.number().int().min(1).max(500).default(50),
      }),
      handler: ({ query, principal }) => {
        const p = principal!;
        const items = queries
          .deposits(p.accountId)
          .filter(
            (d) =>
              (query.currency === undefined || d.currency === query.currency) &&
              (query.status === undefined || query.status === "SUCCESS") &&
              (query.startAt === undefined || d.createdAt >= query.startAt) &&
              (query.endAt === undefined || d.createdAt <= query.endAt),
          )
          .slice()
          .reverse()
          .map((d) => ({
            // Sen: the chain reference, also the id ccxt shows.
            id: d.ref,
            currency: d.currency,
            chain: "sen",
            status: "SUCCESS",
            address: p.accountId,
            memo: "",
            isInner: false,
            amount: format.amount(d.currency, d.amount),
            fee: "0",
            // The vault's deposit reference (vault:<address>:<depositId>); it has no "@", so ccxt takes it whole as the txid.
            walletTxId: d.ref,
            createdAt: d.createdAt,
            updatedAt: d.createdAt,
            remark: "",
            arrears: false,
          }));
        return kucoinPage(items, query.currentPage, query.pageSize);
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/trade-fees",
      tag: "account",
      summary: "Maker and taker fee rates of up to 10 symbols (the market catalog's; no tiers)",
      auth: "signedOrSession",
      permission: "General",
      query: z.object({ symbols: z.string().max(400) }),
      handler: ({ query }) => {
        const symbols = query.symbols.split(",");
        if (symbols.length > MAX_FEE_SYMBOLS) throw new ValidationError(`at most ${MAX_FEE_SYMBOLS} symbols`);
        return symbols.map((s) => {
          if (!symbolParam.safeParse(s).success) throw new ValidationError(`symbols: ${s} is not a symbol like GOLD-VND`);
          const m = catalog.market(s);
          if (!m) throw new SenError("TRADING_UNKNOWN_SYMBOL", `unknown symbol ${s}`);
          return { symbol: s, takerFeeRate: (m.takerFeeBps / 10_000).toString(), makerFeeRate: (m.makerFeeBps / 10_000).toString() };
        });
      },
    }),
  ];
}
