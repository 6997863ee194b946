import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import { defineRoute, type Route } from "../route.ts";

/** Balances per currency, KuCoin "trade" accounts (Sen has one trading account per wallet). */
export function accountRoutes(ctx: AppContext): Route[] {
  const { trading, format, catalog } = ctx;
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
            const b = trading.core.ledger.balance(p.accountId, currency);
            return {
              id: `${p.accountId}:${currency}`,
              currency,
              type: "trade",
              balance: format.amount(currency, b.available + b.hold),
              available: format.amount(currency, b.available),
              holds: format.amount(currency, b.hold),
            };
          });
      },
    }),
  ];
}
