/**
 * Commands: plain JSON-serialisable data (the API journals them verbatim).
 * Prices are integer ticks (price units), quantities integer lots (quantity
 * units); every number must be a safe integer. Time, if the caller needs it,
 * travels in `ts` and is echoed, never read from a clock.
 */
export type Side = "buy" | "sell";
export type TimeInForce = "GTC" | "IOC" | "FOK";
/** Self-trade prevention mode of the incoming (taker) order. */
export type StpMode = "cancelNewest" | "cancelOldest" | "cancelBoth" | "decrement";

interface OrderBase {
  /** Symbol; may be omitted when the engine has exactly one symbol. */
  symbol?: string;
  /** Client order id, unique among the engine's live orders. */
  id: string;
  /** Trading account. */
  owner: string;
  /** e-ID identity hash; two accounts of one person share it (STP). */
  beneficialOwner?: string;
  side: Side;
  stp?: StpMode;
  ts?: number;
}

export interface LimitCommand extends OrderBase {
  type: "limit";
  price: number;
  qty: number;
  /** Default GTC. */
  tif?: TimeInForce;
  /** Rejected if it would take liquidity on arrival (GTC only). */
  postOnly?: boolean;
  /** Iceberg: displayed slice size (GTC only). */
  displayQty?: number;
}

/**
 * Market order: exactly one of `qty` (lots) or `funds` (price x qty units). Funds may be a
 * bigint: a caller whose notional divides price x qty by 10^decimals passes its funds scaled
 * up by that factor, which can pass 2^53.
 */
export interface MarketCommand extends OrderBase {
  type: "market";
  qty?: number;
  funds?: number | bigint;
}

/** Stop (market) or, when `price` is given, stop-limit; triggered by the last trade price. */
export interface StopCommand extends OrderBase {
  type: "stop";
  stopPrice: number;
  qty: number;
  price?: number;
  tif?: TimeInForce;
}

export interface CancelCommand {
  type: "cancel";
  id: string;
  ts?: number;
}

/** Cancels every live order (resting and stop) of `owner`, in one symbol or all. */
export interface CancelAllCommand {
  type: "cancelAll";
  owner: string;
  symbol?: string;
  ts?: number;
}

/**
 * Amend a resting limit order. `qty` is the new open (remaining) quantity.
 * Reducing qty at the same price keeps time priority; a price change or a
 * qty increase loses it (the order re-enters as a new limit and may trade).
 */
export interface AmendCommand {
  type: "amend";
  id: string;
  price?: number;
  qty?: number;
  ts?: number;
}

export type Command =
  | LimitCommand
  | MarketCommand
  | StopCommand
  | CancelCommand
  | CancelAllCommand
  | AmendCommand;
