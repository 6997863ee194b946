import type { MarketUnits } from "../markets/marketUnits.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { TradingEvent } from "../trading/events.ts";
import { isWaitingStop } from "../records/orders.ts";

export const ADVANCED_ORDERS = "/spotMarket/advancedOrders";

type OrderEvent = Extract<TradingEvent, { kind: "order" }>;

/**
 * Whether an order event belongs to /spotMarket/advancedOrders rather than tradeOrders: a stop's
 * acceptance and its cancellation while it waits, and its trigger. Once triggered, its life as
 * an ordinary order (open, match, filled…) is on tradeOrders, as on KuCoin.
 */
export function isAdvancedOrderEvent(e: OrderEvent): boolean {
  return e.change === "triggered" || (isWaitingStop(e.order) && (e.change === "open" || e.change === "canceled"));
}

/**
 * KuCoin's `stopOrder` message: type open | triggered | cancel. ccxt pro (watchOrders with
 * {trigger: true}) reads orderId, clientOid, symbol, orderType, side, orderPrice, size,
 * stopPrice, type, createdAt and triggerSuccess (false makes a trigger read as canceled).
 * A stop refused when it triggers (funds no longer cover it) is "triggered" with triggerSuccess false.
 */
export function advancedOrderMessage(e: OrderEvent, catalog: MarketCatalog, format: MarketUnits): string {
  const o = e.order;
  const m = catalog.market(o.symbol)!;
  const data: Record<string, unknown> = {
    orderId: o.orderId,
    clientOid: o.clientOid,
    symbol: o.symbol,
    // KuCoin says "stop" for every stop order; Sen adds whether it becomes a limit or a market order.
    orderType: "stop",
    stopOrderType: o.type,
    side: o.side,
    orderPrice: format.price(m, o.price),
    size: format.size(m, o.size),
    stop: o.stop!.kind,
    stopPrice: format.price(m, o.stop!.stopPrice),
    tradeType: "TRADE",
    type: e.change === "triggered" ? "triggered" : e.change === "canceled" ? "cancel" : "open",
    createdAt: o.createdAt,
    ts: (BigInt(e.ts) * 1_000_000n).toString(),
  };
  if (o.funds > 0n) data.funds = format.amount(m.quote, o.funds);
  if (e.change === "triggered") data.triggerSuccess = o.isActive;
  return JSON.stringify({ type: "message", topic: ADVANCED_ORDERS, subject: "stopOrder", channelType: "private", userId: o.accountId, data });
}
