import type { Market } from "../markets/types.ts";
import { MarketUnits } from "../markets/marketUnits.ts";
import { formatUnits, increment } from "../money/decimal.ts";
import type { FailedSettlement, Fill, Order } from "../records/orders.ts";

/** KuCoin's wire shapes, built from Sen's integer state (the one formatter: every route writes a value the same way); the unit conversions are MarketUnits'. */
export class KucoinFormat extends MarketUnits {
  /** `limits`: the pre-trade limits in force for the symbol, so the metadata says what risk enforces. */
  symbol(m: Market, enableTrading: boolean, limits: { collarBps: number; maxOrderQty: number }) {
    const baseDec = this.decimals(m.base);
    const quoteDec = this.decimals(m.quote);
    return {
      symbol: m.symbol,
      name: m.name,
      baseCurrency: m.base,
      quoteCurrency: m.quote,
      feeCurrency: m.quote,
      market: m.quote,
      baseMinSize: formatUnits(BigInt(m.minQty), baseDec),
      quoteMinSize: increment(quoteDec),
      baseMaxSize: formatUnits(BigInt(Math.min(m.maxQty, limits.maxOrderQty)), baseDec),
      quoteMaxSize: "999999999999999",
      baseIncrement: formatUnits(BigInt(m.lotSize), baseDec),
      quoteIncrement: increment(quoteDec),
      priceIncrement: formatUnits(BigInt(m.tickSize), quoteDec),
      // The collar on limit prices (0 = none); market orders are bounded by the engine's band.
      priceLimitRate: (limits.collarBps / 10_000).toString(),
      minFunds: increment(quoteDec),
      isMarginEnabled: false,
      enableTrading,
      feeCategory: 1,
      makerFeeCoefficient: "1",
      takerFeeCoefficient: "1",
      st: false,
    };
  }

  order(o: Readonly<Order>) {
    const m = this.catalog.market(o.symbol)!;
    return {
      id: o.orderId,
      symbol: o.symbol,
      opType: "DEAL",
      type: o.type,
      side: o.side,
      price: this.price(m, o.price),
      size: this.size(m, o.size),
      funds: this.amount(m.quote, o.funds),
      dealFunds: this.amount(m.quote, o.dealFunds),
      dealSize: this.size(m, o.dealSize),
      fee: this.amount(m.quote, o.fee),
      feeCurrency: m.quote,
      stp: o.stp,
      // A triggered stop order is an ordinary order that still says what it was.
      stop: o.stop?.kind ?? "",
      stopTriggered: o.stop?.triggered ?? false,
      stopPrice: o.stop ? this.price(m, o.stop.stopPrice) : "0",
      timeInForce: o.tif,
      postOnly: o.postOnly,
      hidden: false,
      iceberg: o.visibleSize > 0,
      visibleSize: this.size(m, o.visibleSize),
      cancelAfter: 0,
      channel: o.apiKeyId ? "API" : "WEB",
      clientOid: o.clientOid,
      remark: o.doneReason ?? null,
      tags: null,
      isActive: o.isActive,
      cancelExist: o.cancelExist,
      createdAt: o.createdAt,
      tradeType: "TRADE",
    };
  }

  /**
   * A stop order as KuCoin's stop-order routes show it. `status`: NEW while it waits, TRIGGERED
   * once it became an ordinary order, CANCELLED when cancelled before that (KuCoin drops those);
   * `isActive`, `cancelExist`, `dealSize`, `dealFunds` and `fee` are Sen's (the live order's),
   * so ccxt reads open / closed / canceled right.
   */
  stopOrder(o: Readonly<Order>) {
    const m = this.catalog.market(o.symbol)!;
    const stop = o.stop!;
    return {
      id: o.orderId,
      symbol: o.symbol,
      userId: o.accountId,
      status: stop.triggered ? "TRIGGERED" : o.isActive ? "NEW" : "CANCELLED",
      type: o.type,
      side: o.side,
      price: this.price(m, o.price),
      size: this.size(m, o.size),
      funds: o.funds > 0n ? this.amount(m.quote, o.funds) : null,
      stp: o.stp,
      timeInForce: o.tif,
      cancelAfter: -1,
      postOnly: o.postOnly,
      hidden: false,
      iceberg: o.visibleSize > 0,
      visibleSize: o.visibleSize > 0 ? this.size(m, o.visibleSize) : null,
      channel: o.apiKeyId ? "API" : "WEB",
      clientOid: o.clientOid,
      remark: o.doneReason ?? null,
      tags: null,
      // KuCoin: nanoseconds.
      orderTime: o.createdAt * 1_000_000,
      domainId: "sen",
      tradeSource: "USER",
      tradeType: "TRADE",
      feeCurrency: m.quote,
      takerFeeRate: (m.takerFeeBps / 10_000).toString(),
      makerFeeRate: (m.makerFeeBps / 10_000).toString(),
      createdAt: o.createdAt,
      stop: stop.kind,
      stopTriggered: stop.triggered,
      stopTriggerTime: stop.triggeredAt ?? null,
      stopPrice: this.price(m, stop.stopPrice),
      isActive: o.isActive,
      cancelExist: o.cancelExist,
      dealSize: this.size(m, o.dealSize),
      dealFunds: this.amount(m.quote, o.dealFunds),
      fee: this.amount(m.quote, o.fee),
    };
  }

  failedSettlement(t: Readonly<FailedSettlement>) {
    const m = this.catalog.market(t.symbol)!;
    return {
      tradeId: t.tradeId,
      symbol: t.symbol,
      seller: t.sellerAccount,
      buyer: t.buyerAccount,
      size: this.size(m, t.size),
      funds: this.amount(m.quote, t.funds),
      sellerFee: this.amount(m.quote, t.sellerFee),
      buyerFee: this.amount(m.quote, t.buyerFee),
      tradedAt: t.createdAt,
      failedAt: t.failedAt,
      reason: t.reason,
    };
  }

  fill(f: Fill, orderType: "limit" | "market") {
    const m = this.catalog.market(f.symbol)!;
    return {
      symbol: f.symbol,
      tradeId: f.tradeId,
      orderId: f.orderId,
      counterOrderId: f.counterOrderId,
      side: f.side,
      liquidity: f.liquidity,
      forceTaker: false,
      price: this.price(m, f.price),
      size: this.size(m, f.size),
      funds: this.amount(m.quote, f.funds),
      fee: this.amount(m.quote, f.fee),
      feeRate: (f.feeRate / 10_000).toString(),
      feeCurrency: m.quote,
      // Sen: personal income tax withheld from a sale's proceeds (0 on buys), in feeCurrency.
      tax: this.amount(m.quote, f.tax),
      stop: "",
      tradeType: "TRADE",
      type: orderType,
      createdAt: f.createdAt,
    };
  }
}
