import type { EngineCode } from "./codes.ts";
import type { Side } from "./command.ts";

/**
 * Events. Every event of a book carries that book's sequence number `seq`
 * (+1 per event); `l2` deltas carry the seq of the event that caused them,
 * so a client applies the deltas with `seq > snapshot.seq` on top of an
 * `l2Snapshot`. Rejections for an unknown symbol carry seq 0.
 */
export interface AcceptedEvent {
  type: "accepted";
  symbol: string;
  id: string;
  owner: string;
  side: Side;
  orderType: "limit" | "market" | "stop";
  /** Limit price (0 for market / stop-market). */
  price: number;
  /** Ordered quantity (0 for a market-by-funds order). */
  qty: number;
  seq: number;
}

export interface RejectedEvent {
  type: "rejected";
  symbol: string;
  /** Id from the command ("" if none could be read). */
  id: string;
  reason: EngineCode;
  seq: number;
}

export interface TradeEvent {
  type: "trade";
  symbol: string;
  maker: string;
  taker: string;
  price: number;
  qty: number;
  /** Aggressor (taker) side. */
  side: Side;
  makerOwner: string;
  takerOwner: string;
  /** Open quantity after the trade (iceberg: displayed + hidden). */
  makerLeft: number;
  /** Open quantity of the taker after the trade (0 for market-by-funds). */
  takerLeft: number;
  seq: number;
}

export interface CancelledEvent {
  type: "cancelled";
  symbol: string;
  id: string;
  /** Quantity removed by this event (an STP decrement removes only part). */
  qty: number;
  /** Open quantity left after the event (0: the order is gone). */
  left: number;
  reason: EngineCode;
  seq: number;
}

export interface AmendedEvent {
  type: "amended";
  symbol: string;
  id: string;
  price: number;
  qty: number;
  priorityKept: boolean;
  seq: number;
}

export interface TriggeredEvent {
  type: "triggered";
  symbol: string;
  id: string;
  stopPrice: number;
  lastPrice: number;
  seq: number;
}

/** L2 delta: the new aggregated displayed quantity at one price (0 = level gone). */
export interface L2Event {
  type: "l2";
  symbol: string;
  side: Side;
  price: number;
  qty: number;
  seq: number;
}

export type EngineEvent =
  | AcceptedEvent
  | RejectedEvent
  | TradeEvent
  | CancelledEvent
  | AmendedEvent
  | TriggeredEvent
  | L2Event;

/**
 * Receives events synchronously during `apply`. To avoid an allocation per
 * event the engine REUSES one object per event type: the object is only
 * valid during the call; copy it (`{ ...e }`) to keep it. `collectEvents`
 * does that for you.
 */
export type EventSink = (event: Readonly<EngineEvent>) => void;

/** A sink that copies every event into `out`. */
export function collectEvents(out: EngineEvent[]): EventSink {
  return (e) => {
    out.push({ ...e } as EngineEvent);
  };
}
