import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import type { Principal } from "../../auth/types.ts";
import { SenError } from "../../errors/SenError.ts";
import { isWaitingStop, type Fill, type Order } from "../../records/orders.ts";
import type { PlaceInput } from "../../trading/tradingService.ts";
import { ValidationError } from "../errors.ts";
import { clientOid, decimalString, defineRoute, kucoinPage, symbolParam, type Route } from "../route.ts";

export const placeBody = z
  .object({
    clientOid,
    side: z.enum(["buy", "sell"]),
    symbol: symbolParam,
    type: z.enum(["limit", "market"]).default("limit"),
    remark: z.string().max(100).optional(),
    stp: z.enum(["CN", "CO", "CB", "DC"]).optional(),
    tradeType: z.literal("TRADE").optional(),
    price: decimalString.optional(),
    size: decimalString.optional(),
    funds: decimalString.optional(),
    timeInForce: z.enum(["GTC", "IOC", "FOK"]).default("GTC"),
    postOnly: z.boolean().default(false),
    hidden: z.literal(false).optional(),
    iceberg: z.boolean().default(false),
    visibleSize: decimalString.optional(),
  })
  .strict();

const listQuery = z.object({
  status: z.enum(["active", "done"]).optional(),
  symbol: symbolParam.optional(),
  side: z.enum(["buy", "sell"]).optional(),
  type: z.enum(["limit", "market"]).optional(),
  tradeType: z.string().optional(),
  startAt: z.coerce.number().int().nonnegative().optional(),
  endAt: z.coerce.number().int().nonnegative().optional(),
  currentPage: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
});

/** Classic KuCoin spot order routes. A trader only ever sees or touches its own orders. */
export function orderRoutes(ctx: AppContext): Route[] {
  const { trading, queries, format } = ctx;
  const me = (p: Principal | null) => p!;
  // Stops waiting for their trigger live apart (routes/stopOrders.ts), as on KuCoin.
  const own = (p: Principal, o: Readonly<Order> | undefined, msg = "order_not_exist") => {
    if (!o || o.accountId !== p.accountId || isWaitingStop(o)) throw new SenError("TRADING_ORDER_NOT_FOUND", msg);
    return o;
  };

  return [
    defineRoute({
      method: "post",
      path: "/api/v1/orders",
      tag: "orders",
      summary: "Place a limit or market order (pre-trade checks, journaled before the reply)",
      auth: "signedOrSession",
      permission: "Trade",
      body: placeBody,
      handler: async ({ body, principal, ip }) => {
        const p = me(principal);
        const order = await trading.placeOrder(placeInputOf(ctx, body, p), { ip, wallet: p.wallet });
        return { orderId: order.orderId, clientOid: order.clientOid };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/orders",
      tag: "orders",
      summary: "List own orders (active or done)",
      auth: "signedOrSession",
      permission: "General",
      query: listQuery,
      handler: ({ query, principal }) => {
        const p = me(principal);
        const items = queries
          .accountOrders(p.accountId)
          .filter(
            (o) =>
              !isWaitingStop(o) &&
              (query.status === undefined || (query.status === "active") === o.isActive) &&
              (query.symbol === undefined || o.symbol === query.symbol) &&
              (query.side === undefined || o.side === query.side) &&
              (query.type === undefined || o.type === query.type) &&
              (query.startAt === undefined || o.createdAt >= query.startAt) &&
              (query.endAt === undefined || o.createdAt <= query.endAt),
          )
          .sort((a, b) => b.createdAt - a.createdAt)
          .map((o) => format.order(o));
        return kucoinPage(items, query.currentPage, query.pageSize);
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/orders/:orderId",
      tag: "orders",
      summary: "One own order",
      auth: "signedOrSession",
      permission: "General",
      handler: ({ params, principal }) => format.order(own(me(principal), queries.order(params.orderId))),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/order/client-order/:clientOid",
      tag: "orders",
      summary: "One own order by clientOid",
      auth: "signedOrSession",
      permission: "General",
      handler: ({ params, principal }) => {
        const p = me(principal);
        return format.order(own(p, queries.orderByClientOid(p.accountId, params.clientOid)));
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/orders/:orderId",
      tag: "orders",
      summary: "Cancel one own order",
      auth: "signedOrSession",
      permission: "Trade",
      handler: async ({ params, principal }) => {
        const p = me(principal);
        own(p, queries.order(params.orderId), "order_not_exist_or_not_allow_to_cancel");
        const o = await trading.cancelOrder(p.accountId, params.orderId);
        return { cancelledOrderIds: [o.orderId] };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/order/client-order/:clientOid",
      tag: "orders",
      summary: "Cancel one own order by clientOid",
      auth: "signedOrSession",
      permission: "Trade",
      handler: async ({ params, principal }) => {
        const p = me(principal);
        const o = own(p, queries.orderByClientOid(p.accountId, params.clientOid), "order_not_exist_or_not_allow_to_cancel");
        await trading.cancelOrder(p.accountId, o.orderId);
        return { cancelledOrderId: o.orderId, clientOid: o.clientOid };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/orders",
      tag: "orders",
      summary: "Cancel all own open orders (optionally of one symbol)",
      auth: "signedOrSession",
      permission: "Trade",
      query: z.object({ symbol: symbolParam.optional(), tradeType: z.string().optional() }),
      handler: async ({ query, principal }) => ({ cancelledOrderIds: await trading.cancelAll(me(principal).accountId, "user", query.symbol, "orders") }),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/fills",
      tag: "orders",
      summary: "Own fills, newest first",
      auth: "signedOrSession",
      permission: "General",
      query: z.object({
        symbol: symbolParam.optional(),
        orderId: z.string().max(64).optional(),
        side: z.enum(["buy", "sell"]).optional(),
        startAt: z.coerce.number().int().nonnegative().optional(),
        endAt: z.coerce.number().int().nonnegative().optional(),
        tradeType: z.string().optional(),
        currentPage: z.coerce.number().int().min(1).default(1),
        pageSize: z.coerce.number().int().min(1).max(500).default(100),
      }),
      handler: ({ query, principal }) => {
        const p = me(principal);
        const items = queries
          .fills(p.accountId)
          .filter(
            (f) =>
              (query.symbol === undefined || f.symbol === query.symbol) &&
              (query.orderId === undefined || f.orderId === query.orderId) &&
              (query.side === undefined || f.side === query.side) &&
              (query.startAt === undefined || f.createdAt >= query.startAt) &&
              (query.endAt === undefined || f.createdAt <= query.endAt),
          )
          .slice()
          .reverse()
          // Sen extension: the DvP transaction that settled the trade on chain (null while pending).
          .map((f) => ({ ...format.fill(f, f.orderType ?? queries.order(f.orderId)?.type ?? "limit"), settlementTxHash: f.settlementTxHash ?? null, ...settlementOf(f) }));
        return kucoinPage(items, query.currentPage, query.pageSize);
      },
    }),
  ];
}

/** Sen's settlement fields on a KuCoin fill: where the trade stands on chain, and why it failed. */
function settlementOf(f: Fill): { settlementStatus: "pending" | "settled" | "failed" | "reversed"; settlementError: string | null } {
  const settlementStatus = f.settlementStatus ?? (f.settlementTxHash ? "settled" : "pending");
  return { settlementStatus, settlementError: f.settlementError ?? null };
}

/**
 * A KuCoin order body (POST /api/v1/orders, a stop order's, one of a batch's) as the trading
 * service's input, in integer units; a body that cannot be one is a ValidationError.
 */
export function placeInputOf(ctx: AppContext, body: z.infer<typeof placeBody>, p: Principal): PlaceInput {
  const { format, catalog } = ctx;
  const m = catalog.market(body.symbol);
  if (!m) throw new SenError("TRADING_UNKNOWN_SYMBOL", `unknown symbol ${body.symbol}`);
  const num = (field: string, text: string, ccy: string) => Number(format.parseAmount(field, text, ccy));
  let price: number | undefined;
  let size: number | undefined;
  let funds: string | undefined;
  if (body.type === "limit") {
    if (body.price === undefined || body.size === undefined) throw new ValidationError("a limit order needs price and size");
    if (body.funds !== undefined) throw new ValidationError("funds is for market orders");
    price = num("price", body.price, m.quote);
    size = num("size", body.size, m.base);
    if (price <= 0 || size <= 0) throw new ValidationError("price and size must be positive");
  } else {
    if ((body.size === undefined) === (body.funds === undefined)) throw new ValidationError("a market order needs exactly one of size or funds");
    if (body.price !== undefined || body.postOnly || body.iceberg) throw new ValidationError("price, postOnly and iceberg are for limit orders");
    if (body.size !== undefined) size = num("size", body.size, m.base);
    if (body.funds !== undefined) {
      if (body.side === "sell") throw new ValidationError("funds is supported for market buys only");
      funds = format.parseAmount("funds", body.funds, m.quote).toString();
    }
    if (size === 0 || funds === "0") throw new ValidationError("size or funds must be positive");
  }
  let visibleSize: number | undefined;
  if (body.iceberg) {
    if (body.visibleSize === undefined) throw new ValidationError("an iceberg order needs visibleSize");
    visibleSize = num("visibleSize", body.visibleSize, m.base);
  }
  if (body.postOnly && body.timeInForce !== "GTC") throw new ValidationError("postOnly needs timeInForce GTC");
  return {
    accountId: p.accountId,
    identityHash: p.identityHash,
    symbol: body.symbol,
    side: body.side,
    type: body.type,
    price,
    size,
    funds,
    tif: body.type === "market" ? "GTC" : body.timeInForce,
    postOnly: body.postOnly,
    visibleSize,
    stp: body.stp ?? "CN",
    clientOid: body.clientOid,
    apiKeyId: p.apiKeyId,
  };
}
