import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import { SenError } from "../../errors/SenError.ts";
import { ValidationError } from "../errors.ts";
import { clientOid, decimalString, defineRoute, symbolParam, type Route } from "../route.ts";

/**
 * KuCoin's order alter (ccxt editOrder). KuCoin replaces the order with a new one; Sen amends
 * it in place (journaled `amend`), so `newOrderId` is the order's own id. The order keeps its
 * time priority only when its size goes down at the same price.
 */
export function orderAlterRoutes(ctx: AppContext): Route[] {
  const { trading, queries, format, catalog } = ctx;
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/hf/orders/alter",
      tag: "orders",
      summary: "Change an own live limit order's price and/or total size (pre-trade checks again; a rise needs funds)",
      auth: "signedOrSession",
      permission: "Trade",
      body: z.object({
        symbol: symbolParam,
        orderId: z.string().regex(/^[0-9a-f]{1,64}$/, "an order id").optional(),
        clientOid: clientOid.optional(),
        newPrice: decimalString.optional(),
        newSize: decimalString.optional(),
      }),
      handler: async ({ body, principal, ip }) => {
        const p = principal!;
        if ((body.orderId === undefined) === (body.clientOid === undefined)) throw new ValidationError("give exactly one of orderId or clientOid");
        if (body.newPrice === undefined && body.newSize === undefined) throw new ValidationError("give newPrice and/or newSize");
        const m = catalog.market(body.symbol);
        if (!m) throw new SenError("TRADING_UNKNOWN_SYMBOL", `unknown symbol ${body.symbol}`);
        const o = body.orderId !== undefined ? queries.order(body.orderId) : queries.orderByClientOid(p.accountId, body.clientOid!);
        if (!o || o.accountId !== p.accountId || o.symbol !== body.symbol) throw new SenError("TRADING_ORDER_NOT_FOUND", "order_not_exist");
        const price = body.newPrice === undefined ? undefined : Number(format.parseAmount("newPrice", body.newPrice, m.quote));
        const size = body.newSize === undefined ? undefined : Number(format.parseAmount("newSize", body.newSize, m.base));
        if (price === 0 || size === 0) throw new ValidationError("newPrice and newSize must be positive");
        const amended = await trading.amendOrder(p.accountId, o.orderId, { price, size }, { ip, wallet: p.wallet });
        return { newOrderId: amended.orderId, clientOid: amended.clientOid };
      },
    }),
  ];
}
