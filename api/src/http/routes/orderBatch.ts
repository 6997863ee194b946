import { z } from "zod/v4";
import type { AppContext } from "../../context.ts";
import { SenError } from "../../errors/SenError.ts";
import { toKucoinError } from "../errors.ts";
import { defineRoute, symbolParam, type Route } from "../route.ts";
import { placeBody, placeInputOf } from "./orders.ts";

/** KuCoin takes at most 5 orders per batch. */
const MAX_BATCH = 5;

/**
 * KuCoin's batch order (ccxt createOrders): up to 5 limit orders of one symbol, each checked
 * and placed on its own, in list order. One refused order does not stop the others: its entry
 * says `status: "fail"` and why (`failMsg`), and ccxt reads it as a rejected order.
 */
export function orderBatchRoutes(ctx: AppContext): Route[] {
  const { trading, format, catalog } = ctx;
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/orders/multi",
      tag: "orders",
      summary: "Place up to 5 limit orders of one symbol, each on its own (answer per order: success or fail with failMsg)",
      auth: "signedOrSession",
      permission: "Trade",
      body: z.object({ symbol: symbolParam, orderList: z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_BATCH) }).strict(),
      handler: async ({ body, principal, ip }) => {
        const p = principal!;
        const m = catalog.market(body.symbol);
        if (!m) throw new SenError("TRADING_UNKNOWN_SYMBOL", `unknown symbol ${body.symbol}`);
        const data: Array<Record<string, unknown>> = [];
        for (const raw of body.orderList) {
          const echo = {
            symbol: body.symbol,
            type: typeof raw.type === "string" ? raw.type : "limit",
            side: typeof raw.side === "string" ? raw.side : null,
            price: typeof raw.price === "string" ? raw.price : null,
            size: typeof raw.size === "string" ? raw.size : null,
            funds: null,
            stp: typeof raw.stp === "string" ? raw.stp : "",
            stop: "",
            stopPrice: null,
            timeInForce: typeof raw.timeInForce === "string" ? raw.timeInForce : "GTC",
            cancelAfter: 0,
            postOnly: raw.postOnly === true,
            hidden: false,
            iceberge: raw.iceberg === true,
            iceberg: raw.iceberg === true,
            visibleSize: typeof raw.visibleSize === "string" ? raw.visibleSize : null,
            channel: p.apiKeyId ? "API" : "WEB",
            clientOid: typeof raw.clientOid === "string" ? raw.clientOid : null,
          };
          try {
            // Each entry may name the batch's symbol again (ccxt does); another symbol is refused.
            if (raw.symbol !== undefined && raw.symbol !== body.symbol) throw new SenError("VALIDATION", `symbol must be the batch's ${body.symbol}`);
            const parsed = placeBody.safeParse({ ...raw, symbol: body.symbol });
            if (!parsed.success) throw new SenError("VALIDATION", parsed.error.issues.map((i) => `${i.path.join(".") || "order"}: ${i.message}`).join("; "));
            if (parsed.data.type !== "limit") throw new SenError("VALIDATION", "a batch takes limit orders only");
            const order = await trading.placeOrder(placeInputOf(ctx, parsed.data, p), { ip, wallet: p.wallet });
            data.push({ ...echo, price: format.price(m, order.price), size: format.size(m, order.size), id: order.orderId, status: "success", failMsg: null });
          } catch (err) {
            // A service failure (journal, audit trail) stops the batch like any other request.
            const e = toKucoinError(err);
            if (e.status >= 500) throw err;
            data.push({ ...echo, id: null, status: "fail", failMsg: e.msg, failCode: e.code, senCode: e.senCode });
          }
        }
        return { data };
      },
    }),
  ];
}
