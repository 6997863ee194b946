import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import { ValidationError } from "../errors.ts";
import { limitsFor } from "../../risk/types.ts";
import { defineRoute, decimalString, symbolParam, type Route } from "../route.ts";

const accountId = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "a wallet address")
  .transform((a) => a.toLowerCase());

/** Path parameters are validated like every other input: a bad one is a 400, never a 500. */
function param<T>(schema: z.ZodType<T>, value: string | undefined, name: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(`${name}: ${r.error.issues[0]?.message ?? "invalid"}`);
  return r.data;
}
const tradeIdParam = z.string().regex(/^[0-9a-f]{24}$/, "a trade id (24 hex digits)");
const reason = z.object({ reason: z.string().min(1).max(200) }).strict();

/** Operator controls: halts, kill switches, risk limits and failed settlements. Operators only; every action is journaled. */
export function operatorRoutes(ctx: AppContext): Route[] {
  const { trading, queries } = ctx;
  const op = { auth: "signedOrSession", roles: ["operator"], tag: "operator" } as const;
  return [
    defineRoute({
      ...op,
      method: "get",
      path: "/api/v1/sen/operator/markets",
      summary: "Every market with its halt state (operator or volatility guard), its units and its effective pre-trade limits",
      handler: () => {
        const now = ctx.now();
        return {
          items: [...ctx.catalog.markets.values()].map((m) => {
            const state = queries.marketState(m.symbol);
            const halted = queries.isHalted(m.symbol, now);
            return {
              symbol: m.symbol,
              base: m.base,
              quote: m.quote,
              baseDecimals: ctx.catalog.currency(m.base)?.decimals ?? 0,
              quoteDecimals: ctx.catalog.currency(m.quote)?.decimals ?? 0,
              halted,
              haltReason: halted ? (state?.haltReason ?? "") : "",
              // 0: until an operator resumes it; otherwise the volatility guard's end (epoch ms).
              haltedUntil: halted ? (state?.haltedUntil ?? 0) : 0,
              limits: limitsFor(trading.risk, m.symbol, ""),
            };
          }),
        };
      },
    }),
    defineRoute({
      ...op,
      method: "get",
      path: "/api/v1/sen/operator/accounts/frozen",
      summary: "Accounts under a kill switch (or frozen by the identity sweep), with the reason",
      handler: () => ({ items: [...queries.frozenAccounts()].map(([accountId, reason]) => ({ accountId, reason, openOrders: [...queries.openOrderIds(accountId)].length })) }),
    }),
    defineRoute({
      ...op,
      method: "get",
      path: "/api/v1/sen/operator/accounts/owed",
      summary: "Balances that owe what a custody debit (a seizure or recovery by the token's agent) could not take, oldest debt first; the next credit in the currency pays it",
      handler: () => ({
        items: queries.owing().map(({ account, currency, balance }) => ({
          accountId: account,
          currency,
          owed: ctx.format.amount(currency, balance.owed ?? 0n),
          available: ctx.format.amount(currency, balance.available),
          holds: ctx.format.amount(currency, balance.hold),
          openOrders: [...queries.openOrderIds(account)].length,
        })),
      }),
    }),
    defineRoute({
      ...op,
      method: "post",
      path: "/api/v1/sen/operator/markets/:symbol/halt",
      summary: "Halt trading on a symbol (new orders refused; resting orders stay)",
      body: reason,
      handler: async ({ params, body, principal }) => {
        await trading.setMarketHalted(param(symbolParam, params.symbol, "symbol"), true, body.reason, principal!.accountId);
        return { symbol: params.symbol, halted: true };
      },
    }),
    defineRoute({
      ...op,
      method: "post",
      path: "/api/v1/sen/operator/markets/:symbol/resume",
      summary: "Resume trading on a symbol",
      body: reason,
      handler: async ({ params, body, principal }) => {
        await trading.setMarketHalted(param(symbolParam, params.symbol, "symbol"), false, body.reason, principal!.accountId);
        return { symbol: params.symbol, halted: false };
      },
    }),
    defineRoute({
      ...op,
      method: "post",
      path: "/api/v1/sen/operator/accounts/:accountId/kill-switch",
      summary: "Freeze an account: cancel all its orders and refuse new ones",
      body: reason,
      handler: async ({ params, body, principal }) => {
        const id = param(accountId, params.accountId, "accountId");
        const cancelled = [...queries.openOrderIds(id)];
        await trading.setAccountFrozen(id, true, body.reason, principal!.accountId);
        return { accountId: id, frozen: true, cancelledOrderIds: cancelled };
      },
    }),
    defineRoute({
      ...op,
      method: "post",
      path: "/api/v1/sen/operator/accounts/:accountId/unfreeze",
      summary: "Lift a kill switch",
      body: reason,
      handler: async ({ params, body, principal }) => {
        const id = param(accountId, params.accountId, "accountId");
        await trading.setAccountFrozen(id, false, body.reason, principal!.accountId);
        return { accountId: id, frozen: false };
      },
    }),
    defineRoute({
      ...op,
      method: "get",
      path: "/api/v1/sen/operator/settlements/failed",
      summary: "Trades the settlement vault refused, with the decoded reason, waiting for retry or reversal",
      handler: () => ({ items: [...queries.failedSettlements()].map((t) => ctx.format.failedSettlement(t)) }),
    }),
    ...(["retry", "reverse"] as const).map((action) =>
      defineRoute({
        ...op,
        method: "post",
        path: `/api/v1/sen/operator/settlements/:tradeId/${action}`,
        summary:
          action === "retry"
            ? "Queue a failed settlement again (e.g. once the identity or the holder rule that refused it is fixed)"
            : "Undo a failed trade on the ledger: each side gets back exactly what it gave, fees included",
        body: z.object({ note: z.string().min(1).max(500) }).strict(),
        handler: async ({ params, body, principal }) => {
          const tradeId = param(tradeIdParam, params.tradeId, "tradeId");
          await trading.resolveSettlement(tradeId, action, principal!.accountId, body.note);
          return { tradeId, action };
        },
      }),
    ),
    defineRoute({ ...op, method: "get", path: "/api/v1/sen/operator/risk-limits", summary: "Current pre-trade limits", handler: () => trading.risk }),
    defineRoute({
      ...op,
      method: "put",
      path: "/api/v1/sen/operator/risk-limits",
      summary: "Override limits for a symbol or an account (merged over the defaults), with the operator's reason",
      body: z
        .object({
          scope: z.enum(["defaults", "symbol", "account"]),
          reason: z.string().trim().min(1).max(200),
          key: z.string().max(64).optional(),
          limits: z
            .object({
              collarBps: z.number().int().min(0).max(10_000),
              maxOrderQty: z.number().int().positive(),
              maxOrderValue: decimalString,
              maxOpenOrders: z.number().int().positive(),
              keyRate: z.object({ burst: z.number().int().positive(), perSecond: z.number().positive() }),
              accountRate: z.object({ burst: z.number().int().positive(), perSecond: z.number().positive() }),
            })
            .partial()
            .strict(),
        })
        .strict(),
      handler: async ({ body, principal }) => {
        if (body.scope !== "defaults" && !body.key) throw new ValidationError("key is required for a symbol or account scope");
        await trading.setRiskLimits(body.scope, body.key, body.limits, principal!.accountId, body.reason);
        return trading.risk;
      },
    }),
    defineRoute({
      ...op,
      method: "post",
      path: "/api/v1/sen/operator/deposits",
      summary: "Credit a deposit by hand (exactly once per reference; never the operator's own account, never a vault reference)",
      body: z
        .object({
          accountId,
          currency: z.string().min(1).max(12),
          amount: decimalString,
          // vault:<vault>:<depositId> is the chain watcher's reference for a vault deposit: taken
          // here, it would make the watcher skip the real deposit as already credited.
          ref: z
            .string()
            .min(1)
            .max(128)
            .refine((r) => !r.toLowerCase().startsWith("vault:"), "vault: references are the chain watcher's (a vault deposit is credited from the chain)"),
        })
        .strict(),
      handler: async ({ body, principal }) => {
        // Segregation of duties: an operator's own balance is credited by another operator or the chain.
        if (body.accountId === principal!.accountId) throw new ValidationError("accountId: an operator cannot credit their own account");
        const applied = await trading.deposit(body.accountId, body.currency, ctx.format.parseAmount("amount", body.amount, body.currency, false), body.ref, principal!.accountId);
        return { applied };
      },
    }),
  ];
}
