import type { PlaceRecord } from "../records/tradingRecords.ts";
import { stopReached, type Order } from "../records/orders.ts";
import type { HolderRules } from "./holderRules.ts";
import type { PilotRules } from "../listing/pilotRules.ts";
import { inPilotWords, offeringRefusal } from "./pilotWording.ts";
import { RiskCode, limitsFor, type RiskConfig, type RiskRejection } from "./types.ts";
import type { RiskView } from "./riskView.ts";
import type { TokenBuckets } from "../auth/tokenBucket.ts";

/**
 * Every control an order passes before it is journaled, in a fixed order (cheapest and most
 * fundamental first). Returns the first rule that refuses, or null. Reads state, changes
 * nothing but the rate buckets.
 */
export function preTradeCheck(
  /** The order as received (its time is `now`). */
  order: Omit<PlaceRecord, "t" | "orderId" | "ts" | "us">,
  view: RiskView,
  config: RiskConfig,
  buckets: TokenBuckets,
  now: number,
  /** The chain's holder rules (absent when the gateway runs without a chain). */
  holderRules: HolderRules | null = null,
  /** The pilot's rules: they name the rule behind a refusal in words. */
  pilot?: PilotRules,
  /**
   * An amendment: `order` is what the live order `replacing` becomes (size: its new open part).
   * It keeps its clientOid and open-order slot, and its hold counts towards the funds.
   */
  replacing?: Readonly<Order>,
): RiskRejection | null {
  const limits = limitsFor(config, order.symbol, order.accountId);
  const market = view.catalog.market(order.symbol)!;

  if (order.apiKeyId !== undefined && !buckets.take(`key:${order.apiKeyId}`, limits.keyRate.burst, limits.keyRate.perSecond, now)) {
    return { code: RiskCode.RATE_LIMIT_KEY, message: `more than ${limits.keyRate.perSecond} orders/s on this API key` };
  }
  if (!buckets.take(`acct:${order.accountId}`, limits.accountRate.burst, limits.accountRate.perSecond, now)) {
    return { code: RiskCode.RATE_LIMIT_ACCOUNT, message: `more than ${limits.accountRate.perSecond} orders/s on this account` };
  }
  const frozen = view.isFrozen(order.accountId);
  if (frozen !== undefined) return { code: RiskCode.ACCOUNT_FROZEN, message: `account frozen: ${frozen}` };
  // A size cut at the same price keeps the order's place and can only trade less: like a
  // cancel, it lowers risk, so a halt (which still allows cancels) does not stop it.
  const sizeCut = replacing !== undefined && order.price === replacing.price && (order.size ?? 0) < replacing.size - replacing.dealSize;
  if (!sizeCut && view.isHalted(order.symbol, now)) {
    return { code: RiskCode.SYMBOL_HALTED, message: `${order.symbol} is halted: ${view.marketState(order.symbol)?.haltReason ?? ""}` };
  }
  const listing = view.listing(order.symbol);
  const notOpen = offeringRefusal(listing, now, pilot);
  if (notOpen) return notOpen;
  if (!replacing && view.orderByClientOid(order.accountId, order.clientOid)) {
    return { code: RiskCode.DUPLICATE_CLIENT_OID, message: `clientOid ${order.clientOid} was already used` };
  }
  if (order.stop !== undefined && (!Number.isSafeInteger(order.stop.stopPrice) || order.stop.stopPrice <= 0 || order.stop.stopPrice % market.tickSize !== 0)) {
    return { code: RiskCode.BAD_TICK, message: `stopPrice must be a positive multiple of ${market.tickSize}` };
  }
  if (order.price !== undefined && order.price % market.tickSize !== 0) {
    return { code: RiskCode.BAD_TICK, message: `price must be a multiple of ${market.tickSize}` };
  }
  if (order.size !== undefined) {
    if (order.size % market.lotSize !== 0) return { code: RiskCode.BAD_LOT, message: `size must be a multiple of ${market.lotSize}` };
    if (order.size < market.minQty) return { code: RiskCode.SIZE_BELOW_MIN, message: `size below the minimum ${market.minQty}` };
    if (order.size > Math.min(limits.maxOrderQty, market.maxQty)) {
      return { code: RiskCode.MAX_ORDER_QTY, message: `size above the maximum ${Math.min(limits.maxOrderQty, market.maxQty)}` };
    }
  }
  if (!replacing && view.openOrderIds(order.accountId).size >= limits.maxOpenOrders) {
    return { code: RiskCode.MAX_OPEN_ORDERS, message: `at most ${limits.maxOpenOrders} open orders` };
  }

  const best = view.bestPrices(order.symbol);
  const last = view.marketState(order.symbol)?.lastPrice ?? 0;
  // A stop trades when the last price reaches its stop price: that is its reference. One the
  // last price already meets triggers as it is accepted, so it is checked as the order it
  // becomes (else any stop price would carry a limit price past the collar, or value a market
  // buy at a fraction of the ask).
  const waits = order.stop !== undefined && !(last > 0 && stopReached(order.stop, last));
  const reference = waits ? order.stop!.stopPrice : last || (best.bid && best.ask ? Math.round((best.bid + best.ask) / 2) : 0);
  if (order.type === "limit" && order.price !== undefined && limits.collarBps > 0 && reference > 0) {
    const deviation = BigInt(Math.abs(order.price - reference)) * 10_000n;
    if (deviation > BigInt(reference) * BigInt(limits.collarBps)) {
      return { code: RiskCode.PRICE_COLLAR, message: `price more than ${limits.collarBps} bps from the reference price ${reference}` };
    }
  }

  const value =
    order.type === "limit"
      ? view.catalog.notional(market, order.price ?? 0, order.size ?? 0)
      : order.funds !== undefined
        ? BigInt(order.funds)
        : view.catalog.notional(market, waits ? order.stop!.stopPrice : order.side === "buy" ? best.ask : best.bid, order.size ?? 0);
  if (value > BigInt(limits.maxOrderValue)) {
    return { code: RiskCode.MAX_ORDER_VALUE, message: `order value above the maximum ${limits.maxOrderValue}` };
  }

  const hold = view.holdFor(order);
  const held = replacing?.holdRemaining ?? 0n;
  if (!hold || view.ledger.balance(order.accountId, hold.currency).available + held < hold.amount) {
    return { code: RiskCode.INSUFFICIENT_FUNDS, message: `balance insufficient: ${hold?.amount ?? "?"} ${hold?.currency ?? ""} needed` };
  }
  // Last: it reads open orders and unsettled trades; and what the chain would refuse to
  // settle must never be matched.
  // An amendment is checked for the size it adds to the live order (which the rules already
  // count). A cut at the same price only lowers what the order can bring; a new price re-enters
  // the order (it may trade at once), so its owner must still be eligible, whatever the size.
  let checked = order;
  if (replacing) {
    const added = (order.size ?? 0) - (replacing.size - replacing.dealSize);
    if (added <= 0 && order.price === replacing.price) return null;
    checked = { ...order, size: Math.max(added, 0) };
  }
  return inPilotWords(holderRules?.checkOrder(checked, view, now) ?? null, listing?.assetClass ?? market.assetClass, pilot);
}
