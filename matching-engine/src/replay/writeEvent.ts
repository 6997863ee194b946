import type { EngineEvent } from "../events.ts";
import { encodePiece } from "./outputBuffer.ts";
import type { OutputBuffer } from "./outputBuffer.ts";

/** The constant pieces of the output lines, encoded once. */
const enc = encodePiece;
const K_TRADE_MAKER = enc('{"type":"trade","maker":');
const K_TAKER = enc(',"taker":');
const K_PRICE = enc(',"price":');
const K_QTY = enc(',"qty":');
const K_SIDE_BUY_MAKEROWNER = enc(',"side":"buy","makerOwner":');
const K_SIDE_SELL_MAKEROWNER = enc(',"side":"sell","makerOwner":');
const K_TAKEROWNER = enc(',"takerOwner":');
const K_MAKERLEFT = enc(',"makerLeft":');
const K_TAKERLEFT = enc(',"takerLeft":');
const K_ACCEPTED_ID = enc('{"type":"accepted","id":');
const K_OWNER = enc(',"owner":');
const K_SIDE_BUY_ORDERTYPE = enc(',"side":"buy","orderType":');
const K_SIDE_SELL_ORDERTYPE = enc(',"side":"sell","orderType":');
const K_CANCELLED_ID = enc('{"type":"cancelled","id":');
const K_LEFT = enc(',"left":');
const K_REASON = enc(',"reason":');
const K_REJECTED_ID = enc('{"type":"rejected","id":');
const K_LINE = enc(',"line":');
const K_AMENDED_ID = enc('{"type":"amended","id":');
const K_PRIORITYKEPT_TRUE = enc(',"priorityKept":true');
const K_PRIORITYKEPT_FALSE = enc(',"priorityKept":false');
const K_TRIGGERED_ID = enc('{"type":"triggered","id":');
const K_STOPPRICE = enc(',"stopPrice":');
const K_LASTPRICE = enc(',"lastPrice":');
const K_L2_SIDE_BUY_PRICE = enc('{"type":"l2","side":"buy","price":');
const K_L2_SIDE_SELL_PRICE = enc('{"type":"l2","side":"sell","price":');
const K_SEQ = enc(',"seq":');
const K_END = enc("}\n");

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
