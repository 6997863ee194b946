import { formatAmount, quoteOf } from "./format.ts";
import type { AlertRule } from "./types.ts";

/** Each surveillance rule in words (typed by the server's rule list: a new rule without words does not type-check). */
export const RULE_WORDS: Record<AlertRule, string> = {
  WASH_SAME_IDENTITY: "Wash trade, same e-ID",
  WASH_RING: "Wash trading ring",
  SPOOFING: "Spoofing / layering",
  QUOTE_STUFFING: "Quote stuffing",
  MARKING_THE_CLOSE: "Marking the close / momentum ignition",
  SETTLEMENT_FAILED: "Settlement failed",
};

export function ruleWords(rule: string): string {
  return (RULE_WORDS as Record<string, string>)[rule] ?? rule;
}

/**
 * The words for every key a detector puts in an alert's `detail` (thresholds from
 * SurveillanceConfig and measured values), nested record keys included. The unit comes from the
 * key's suffix (…Seconds, …Ms, …Minutes, …Bps), see detailValueWords. api/test/alertWords.test.ts
 * reads the detectors' sources in api/src/compliance/surveillance and fails when a key has no words here.
 */
export const DETAIL_LABELS: Record<string, string> = {
  // thresholds (copied from the surveillance configuration into each alert)
  cooldownSeconds: "Not raised again within",
  windowSeconds: "Window",
  windowMinutes: "Window before the close",
  minTrades: "Minimum trades",
  maxIdentities: "Maximum identities in a ring",
  netToleranceBps: "Net change tolerance",
  minShareBps: "Minimum share of volume",
  sizeMultiple: "Large order: multiple of the median size",
  minNotional: "Large order: minimum value",
  awayBps: "Distance from the reference price",
  cancelAfterFillSeconds: "Cancelled within, after the opposite fill",
  minMessages: "Minimum messages",
  minOrderToTrade: "Minimum order-to-trade ratio",
  minMoveBps: "Minimum price move",
  minTakerFills: "Minimum aggressive fills",
  reversalSeconds: "Reversal within",
  // measurements
  tradeId: "Trade",
  price: "Price",
  qty: "Quantity",
  takerAccount: "Taker account",
  makerAccount: "Maker account",
  takerOrderId: "Taker order",
  makerOrderId: "Maker order",
  sameAccount: "Same account on both sides",
  trades: "Trades",
  grossQty: "Gross quantity",
  members: "Ring members",
  identityHash: "e-ID",
  tradedInSymbol: "Traded in the symbol",
  bought: "Bought",
  sold: "Sold",
  net: "Net",
  netBpsOfGross: "Net change of gross",
  side: "Side",
  orders: "Large orders",
  orderId: "Order",
  refPrice: "Reference price",
  medianOrderQty: "Median order size",
  notional: "Value",
  oppositeFills: "Fills on the other side",
  seq: "Log #",
  placedToCancelMs: "Placed to cancelled",
  fillToCancelMs: "Opposite fill to cancelled",
  cancelReason: "Cancel reason",
  variant: "Variant",
  messages: "Messages",
  orderToTrade: "Order-to-trade ratio",
  firstSeqInWindow: "First log # in the window",
  lastSeqInWindow: "Last log # in the window",
  pattern: "Pattern",
  closeAt: "Close at",
  identityQty: "Identity's quantity",
  intervalVolume: "Volume in the window",
  intervalTrades: "Trades in the window",
  shareBps: "Identity's share of volume",
  startPrice: "Price at the start",
  lastPrice: "Last price",
  endPrice: "Price at the end",
  moveBps: "Price move",
  burstFills: "Aggressive fills",
  burstQty: "Aggressive quantity",
  burstVolume: "Aggressive value",
  reversalSeq: "Reversal log #",
  reversalQty: "Reversal quantity",
  reversalPrice: "Reversal price",
  reversalAfterMs: "Reversal after",
  reason: "Reason",
  evidenceSeqsOmitted: "Evidence events not attached",
};

/** `minTrades` → "Minimum trades"; an unknown key is split into words (the test keeps this rare). */
export function detailLabel(key: string): string {
  return DETAIL_LABELS[key] ?? key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/^./, (c) => c.toUpperCase());
}

const PRICE_KEYS = new Set(["price", "refPrice", "startPrice", "lastPrice", "endPrice", "reversalPrice", "notional", "minNotional", "burstVolume", "intervalVolume"]);
const WORD_VALUES: Record<string, string> = { close: "marking the close", momentumIgnition: "momentum ignition", burst: "burst", sustained: "sustained" };

function num(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 3 });
}

/** A detail value with its unit: `windowSeconds: 600` → "600 s (10 min)", `minShareBps: 5000` → "50 % (5,000 bps)". */
export function detailValueWords(key: string, value: unknown, symbol?: string): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    if (key.endsWith("Bps")) return `${num(value / 100)} % (${num(value)} bps)`;
    if (key.endsWith("Seconds")) return value >= 120 && value % 60 === 0 ? `${num(value)} s (${num(value / 60)} min)` : `${num(value)} s`;
    if (key.endsWith("Ms")) return value >= 1000 ? `${num(value / 1000)} s` : `${num(value)} ms`;
    if (key.endsWith("Minutes")) return `${num(value)} min`;
    if (key === "sizeMultiple") return `${num(value)} ×`;
    if (key === "orderToTrade" || key === "minOrderToTrade") return `${num(value)} : 1`;
    return num(value);
  }
  if (typeof value === "string") {
    if (PRICE_KEYS.has(key)) return formatAmount(value, quoteOf(symbol));
    return WORD_VALUES[value] ?? value;
  }
  return JSON.stringify(value);
}
