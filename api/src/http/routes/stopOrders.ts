import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import type { Principal } from "../../auth/types.ts";
import { SenError } from "../../errors/SenError.ts";
import { isWaitingStop, type Order } from "../../records/orders.ts";
import { ValidationError } from "../errors.ts";
import { clientOid, decimalString, defineRoute, kucoinPage, symbolParam, type Route } from "../route.ts";
import { placeBody, placeInputOf } from "./orders.ts";

/** KuCoin's stop-order body: an order body plus the trigger (`stop` defaults to loss, as on KuCoin). */
const stopBody = placeBody.extend({
  stop: z.enum(["loss", "entry"]).default("loss"),
  stopPrice: decimalString,
});

const orderIdList = z
  .string()
  .max(2_000)
  .regex(/^[0-9a-f]{1,64}(,[0-9a-f]{1,64})*$/, "comma-separated order ids");

const listQuery = z.object({
  symbol: symbolParam.optional(),
  side: z.enum(["buy", "sell"]).optional(),
  type: z.enum(["limit", "market"]).optional(),
  tradeType: z.string().max(20).optional(),
  // Sen: ccxt sends status=active (open trigger orders) or done (closed ones); KuCoin lists only waiting stops, which is the default here.
  status: z.enum(["active", "done"]).optional(),
  orderIds: orderIdList.optional(),
  startAt: z.coerce.number().int().nonnegative().optional(),
  endAt: z.coerce.number().int().nonnegative().optional(),
  currentPage: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
});

/**
 * KuCoin's stop orders (/api/v1/stop-order…). A stop holds its funds from acceptance and waits
 * in the trading core until a trade reaches its stop price ("loss": at or below, "entry": at or
 * above); it then becomes an ordinary order under the same id, listed with the normal orders
 * (stopTriggered true) and still readable here with status TRIGGERED.
 */
export function stopOrderRoutes(ctx: AppContext): Route[] {
  const { trading, queries, format, catalog } = ctx;
  const me = (p: Principal | null) => p!;
  const ownStop = (p: Principal, o: Readonly<Order> | undefined, msg = "order_not_exist") => {
    if (!o || o.accountId !== p.accountId || !o.stop) throw new SenError("TRADING_ORDER_NOT_FOUND", msg);
    return o;
  };
  const cancelWaiting = async (p: Principal, o: Readonly<Order>) => {
    if (!isWaitingStop(o)) throw new SenError("TRADING_ORDER_NOT_ACTIVE", "order_not_exist_or_not_allow_to_cancel");
    await trading.cancelOrder(p.accountId, o.orderId);
  };

  return [
    defineRoute({
      method: "post",
      path: "/api/v1/stop-order",
      tag: "orders",
      summary: "Place a stop (or stop-limit) order: held now, made an ordinary order when a trade reaches stopPrice",
      auth: "signedOrSession",
      permission: "Trade",
      body: stopBody,
      handler: async ({ body, principal, ip }) => {
        const p = me(principal);
        const { stop, stopPrice, ...rest } = body;
        const input = placeInputOf(ctx, rest, p);
        const m = catalog.market(body.symbol)!;
        const units = Number(format.parseAmount("stopPrice", stopPrice, m.quote));
        if (units <= 0) throw new ValidationError("stopPrice must be positive");
        const order = await trading.placeOrder({ ...input, stop: { stopPrice: units, kind: stop } }, { ip, wallet: p.wallet });
        return { orderId: order.orderId, clientOid: order.clientOid };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/stop-order",
      tag: "orders",
      summary: "List own stop orders (default: waiting for their trigger; status=done: triggered or cancelled)",
      auth: "signedOrSession",
      permission: "General",
      query: listQuery,
      handler: ({ query, principal }) => {
        const p = me(principal);
        const ids = query.orderIds === undefined ? undefined : new Set(query.orderIds.split(","));
        const done = query.status === "done";
        const items = queries
          .accountOrders(p.accountId)
          .filter(
            (o) =>
              o.stop !== undefined &&
              (done ? !isWaitingStop(o) || !o.isActive : isWaitingStop(o) && o.isActive) &&
              (ids === undefined || ids.has(o.orderId)) &&
              (query.symbol === undefined || o.symbol === query.symbol) &&
              (query.side === undefined || o.side === query.side) &&
              (query.type === undefined || o.type === query.type) &&
              (query.startAt === undefined || o.createdAt >= query.startAt) &&
              (query.endAt === undefined || o.createdAt <= query.endAt),
          )
          .map((o) => format.stopOrder(o));
        return kucoinPage(items, query.currentPage, query.pageSize);
      },
    }),
    // Before /:orderId, so these fixed paths are not taken for ids.
    defineRoute({
      method: "get",
      path: "/api/v1/stop-order/queryOrderByClientOid",
      tag: "orders",
      // KuCoin documents a one-element list here, but ccxt 4.5.84 reads `data` with safeDict, which
      // turns a list into {} (an order without id): so one object, and not found as an error.
      summary: "One own stop order by clientOid (one object, not KuCoin's list: what ccxt reads)",
      auth: "signedOrSession",
      permission: "General",
      query: z.object({ clientOid, symbol: symbolParam.optional() }),
      handler: ({ query, principal }) => {
        const p = me(principal);
        const o = ownStop(p, queries.orderByClientOid(p.accountId, query.clientOid));
        if (query.symbol !== undefined && o.symbol !== query.symbol) throw new SenError("TRADING_ORDER_NOT_FOUND", "order_not_exist");
        return format.stopOrder(o);
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/stop-order/cancelOrderByClientOid",
      tag: "orders",
      summary: "Cancel one own waiting stop order by clientOid",
      auth: "signedOrSession",
      permission: "Trade",
      query: z.object({ clientOid, symbol: symbolParam.optional() }),
      handler: async ({ query, principal }) => {
        const p = me(principal);
        const o = ownStop(p, queries.orderByClientOid(p.accountId, query.clientOid), "order_not_exist_or_not_allow_to_cancel");
        if (query.symbol !== undefined && o.symbol !== query.symbol) throw new SenError("TRADING_ORDER_NOT_FOUND", "order_not_exist_or_not_allow_to_cancel");
        await cancelWaiting(p, o);
        return { cancelledOrderId: o.orderId, clientOid: o.clientOid };
      },
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/stop-order/cancel",
      tag: "orders",
      summary: "Cancel own waiting stop orders: all, one symbol's, or the listed orderIds",
      auth: "signedOrSession",
      permission: "Trade",
      query: z.object({ symbol: symbolParam.optional(), tradeType: z.string().max(20).optional(), orderIds: orderIdList.optional() }),
      handler: async ({ query, principal }) => {
        const p = me(principal);
        if (query.orderIds === undefined) return { cancelledOrderIds: await trading.cancelAll(p.accountId, "user", query.symbol, "stops") };
        const cancelled: string[] = [];
        for (const id of new Set(query.orderIds.split(","))) {
          const o = queries.order(id);
          // As KuCoin: ids that are not own waiting stops are left out of the answer, not refused.
          if (!o || o.accountId !== p.accountId || !isWaitingStop(o) || !o.isActive || (query.symbol !== undefined && o.symbol !== query.symbol)) continue;
          await trading.cancelOrder(p.accountId, id);
          cancelled.push(id);
        }
        return { cancelledOrderIds: cancelled };
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/stop-order/:orderId",
      tag: "orders",
      summary: "One own stop order (waiting, triggered or cancelled)",
      auth: "signedOrSession",
      permission: "General",
      handler: ({ params, principal }) => format.stopOrder(ownStop(me(principal), queries.order(params.orderId))),
    }),
    defineRoute({
      method: "delete",
      path: "/api/v1/stop-order/:orderId",
      tag: "orders",
      summary: "Cancel one own waiting stop order",
      auth: "signedOrSession",
      permission: "Trade",
      handler: async ({ params, principal }) => {
        const p = me(principal);
        const o = ownStop(p, queries.order(params.orderId), "order_not_exist_or_not_allow_to_cancel");
        await cancelWaiting(p, o);
        return { cancelledOrderIds: [o.orderId] };
      },
    }),
  ];
}
