import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import { ValidationError } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";
import type { Withdrawal } from "../../records/orders.ts";

/** Balances per currency, KuCoin "trade" accounts (Sen has one trading account per wallet). */
export function accountRoutes(ctx: AppContext): Route[] {
  const { trading, queries, format, catalog } = ctx;
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/accounts",
      tag: "account",
      summary: "Balances (available, holds) of the caller's trading account",
      auth: "signedOrSession",
      permission: "General",
      query: z.object({ currency: z.string().max(12).optional(), type: z.string().max(16).optional() }),
      handler: ({ query, principal }) => {
        if (query.type !== undefined && query.type !== "trade") return [];
        const p = principal!;
        return [...catalog.currencies.keys()]
          .filter((c) => query.currency === undefined || c === query.currency)
          .map((currency) => {
            const b = queries.balance(p.accountId, currency);
            return {
              id: `${p.accountId}:${currency}`,
              currency,
              type: "trade",
              balance: format.amount(currency, b.available + b.hold),
              available: format.amount(currency, b.available),
              holds: format.amount(currency, b.hold),
              // Sen's own, only while non-zero: custody the token's agent took from the vault that
              // the account had already traded away (see Ledger); the next credits pay it first.
              ...(b.owed ? { owed: format.amount(currency, b.owed) } : {}),
            };
          });
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v3/withdrawals",
      tag: "account",
      summary: "Withdraw from the exchange to the caller's own verified wallet (paid out by the settlement vault)",
      auth: "signedOrSession",
      permission: "Withdraw",
      body: z
        .object({
          currency: z.string().min(1).max(12),
          toAddress: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an Ethereum address"),
          // ccxt sends a JSON number here; accept a decimal string or a safe non-negative number
          amount: z.union([z.string().max(40), z.number().nonnegative().max(Number.MAX_SAFE_INTEGER)]),
          withdrawType: z.literal("ADDRESS").optional(),
          chain: z.string().max(32).optional(),
          memo: z.string().max(64).optional(),
          remark: z.string().max(100).optional(),
          feeDeductType: z.string().max(16).optional(),
        })
        .strict(),
      handler: async ({ body, principal }) => {
        const p = principal!;
        if (!catalog.currency(body.currency)) throw new ValidationError(`unknown currency ${body.currency}`);
        // Funds only ever leave to the wallet that owns the account (its verified e-ID wallet).
        if (body.toAddress.toLowerCase() !== p.accountId) throw new ValidationError("withdrawals go to your own verified wallet only");
        const text = typeof body.amount === "number" ? body.amount.toString() : body.amount;
        const amount = format.parseAmount("amount", text, body.currency, false);
        const withdrawalId = await trading.requestWithdrawal(p.accountId, body.currency, amount);
        return { withdrawalId };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/withdrawals",
      tag: "account",
      summary: "The caller's withdrawals",
      auth: "signedOrSession",
      permission: "General",
      query: z.object({ currency: z.string().max(12).optional(), status: z.string().max(20).optional(), startAt: z.string().optional(), endAt: z.string().optional(), pageSize: z.string().optional(), currentPage: z.string().optional() }),
      handler: ({ query, principal }) => {
        const items = [...queries.withdrawals()]
          .filter((w) => w.accountId === principal!.accountId && (query.currency === undefined || w.currency === query.currency) && (query.status === undefined || w.status === query.status))
          .sort((a, b) => b.createdAt - a.createdAt)
          .map((w: Readonly<Withdrawal>) => ({
            id: w.withdrawalId,
            currency: w.currency,
            chain: "sen",
            address: principal!.wallet,
            memo: "",
            amount: format.amount(w.currency, w.amount),
            fee: "0",
            walletTxId: w.txHash ?? null,
            isInner: false,
            status: w.status,
            remark: w.reason ?? "",
            createdAt: w.createdAt,
            updatedAt: w.updatedAt,
          }));
        return { currentPage: 1, pageSize: items.length, totalNum: items.length, totalPage: 1, items };
      },
    }),
  ];
}
