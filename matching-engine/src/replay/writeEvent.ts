import type { EngineEvent } from "../events.ts";
import { encodePiece } from "./outputBuffer.ts";
import type { OutputBuffer } from "./outputBuffer.ts";

/** The constant pieces of the output lines, encoded once (writeRecord.ts shares them). */
const enc = encodePiece;
export const K_TRADE_MAKER = enc('{"type":"trade","maker":');
export const K_TAKER = enc(',"taker":');
export const K_PRICE = enc(',"price":');
export const K_QTY = enc(',"qty":');
export const K_SIDE_BUY_MAKEROWNER = enc(',"side":"buy","makerOwner":');
export const K_SIDE_SELL_MAKEROWNER = enc(',"side":"sell","makerOwner":');
export const K_TAKEROWNER = enc(',"takerOwner":');
export const K_MAKERLEFT = enc(',"makerLeft":');
export const K_TAKERLEFT = enc(',"takerLeft":');
export const K_ACCEPTED_ID = enc('{"type":"accepted","id":');
export const K_OWNER = enc(',"owner":');
export const K_SIDE_BUY_ORDERTYPE = enc(',"side":"buy","orderType":');
export const K_SIDE_SELL_ORDERTYPE = enc(',"side":"sell","orderType":');
export const K_CANCELLED_ID = enc('{"type":"cancelled","id":');
export const K_LEFT = enc(',"left":');
export const K_REASON = enc(',"reason":');
export const K_REJECTED_ID = enc('{"type":"rejected","id":');
export const K_LINE = enc(',"line":');
export const K_AMENDED_ID = enc('{"type":"amended","id":');
export const K_PRIORITYKEPT_TRUE = enc(',"priorityKept":true');
export const K_PRIORITYKEPT_FALSE = enc(',"priorityKept":false');
export const K_TRIGGERED_ID = enc('{"type":"triggered","id":');
export const K_STOPPRICE = enc(',"stopPrice":');
export const K_LASTPRICE = enc(',"lastPrice":');
export const K_L2_SIDE_BUY_PRICE = enc('{"type":"l2","side":"buy","price":');
export const K_L2_SIDE_SELL_PRICE = enc('{"type":"l2","side":"sell","price":');
export const K_SEQ = enc(',"seq":');
export const K_END = enc("}\n");

/**
 * Writes one replay output line for an engine event, newline included:
 * the same bytes as `formatEvent(e, line) + "\n"`, without building a string.
 */
export function writeEvent(o: OutputBuffer, e: Readonly<EngineEvent>, line: number): void {
  switch (e.type) {
    case "trade":
      o.piece(K_TRADE_MAKER);
      o.str(e.maker);
      o.piece(K_TAKER);
      o.str(e.taker);
      o.piece(K_PRICE);
      o.num(e.price);
      o.piece(K_QTY);
      o.num(e.qty);
      o.piece(e.side === "buy" ? K_SIDE_BUY_MAKEROWNER : K_SIDE_SELL_MAKEROWNER);
      o.str(e.makerOwner);
      o.piece(K_TAKEROWNER);
      o.str(e.takerOwner);
      o.piece(K_MAKERLEFT);
      o.num(e.makerLeft);
      o.piece(K_TAKERLEFT);
      o.num(e.takerLeft);
      break;
    case "accepted":
      o.piece(K_ACCEPTED_ID);
      o.str(e.id);
      o.piece(K_OWNER);
      o.str(e.owner);
      o.piece(e.side === "buy" ? K_SIDE_BUY_ORDERTYPE : K_SIDE_SELL_ORDERTYPE);
      o.str(e.orderType);
      o.piece(K_PRICE);
      o.num(e.price);
      o.piece(K_QTY);
      o.num(e.qty);
      break;
    case "cancelled":
      o.piece(K_CANCELLED_ID);
      o.str(e.id);
      o.piece(K_QTY);
      o.num(e.qty);
      o.piece(K_LEFT);
      o.num(e.left);
      o.piece(K_REASON);
      o.str(e.reason);
      break;
    case "rejected":
      o.piece(K_REJECTED_ID);
      o.str(e.id);
      o.piece(K_REASON);
      o.str(e.reason);
      o.piece(K_LINE);
      o.num(line);
      break;
    case "amended":
      o.piece(K_AMENDED_ID);
      o.str(e.id);
      o.piece(K_PRICE);
      o.num(e.price);
      o.piece(K_QTY);
      o.num(e.qty);
      o.piece(e.priorityKept ? K_PRIORITYKEPT_TRUE : K_PRIORITYKEPT_FALSE);
      break;
    case "triggered":
      o.piece(K_TRIGGERED_ID);
      o.str(e.id);
      o.piece(K_STOPPRICE);
      o.num(e.stopPrice);
      o.piece(K_LASTPRICE);
      o.num(e.lastPrice);
      break;
    case "l2":
      o.piece(e.side === "buy" ? K_L2_SIDE_BUY_PRICE : K_L2_SIDE_SELL_PRICE);
      o.num(e.price);
      o.piece(K_QTY);
      o.num(e.qty);
      break;
  }
  o.piece(K_SEQ);
  o.num(e.seq);
  o.piece(K_END);
}
