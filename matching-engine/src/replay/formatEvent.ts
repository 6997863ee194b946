import type { EngineEvent } from "../events.ts";

/** JSON string literal; the fast path skips JSON.stringify for plain ids. */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || c > 126) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/**
 * One replay output line for an engine event (no trailing newline). Same
 * fields as the event minus `symbol` (the replay runs one book); rejections
 * also name the input line.
 */
export function formatEvent(e: Readonly<EngineEvent>, line: number): string {
  switch (e.type) {
    case "trade":
      return `{"type":"trade","maker":${jsonString(e.maker)},"taker":${jsonString(e.taker)},"price":${e.price},"qty":${e.qty},"side":"${e.side}","makerOwner":${jsonString(e.makerOwner)},"takerOwner":${jsonString(e.takerOwner)},"makerLeft":${e.makerLeft},"takerLeft":${e.takerLeft},"seq":${e.seq}}`;
    case "accepted":
      return `{"type":"accepted","id":${jsonString(e.id)},"owner":${jsonString(e.owner)},"side":"${e.side}","orderType":"${e.orderType}","price":${e.price},"qty":${e.qty},"seq":${e.seq}}`;
    case "cancelled":
      return `{"type":"cancelled","id":${jsonString(e.id)},"qty":${e.qty},"left":${e.left},"reason":"${e.reason}","seq":${e.seq}}`;
    case "rejected":
      return `{"type":"rejected","id":${jsonString(e.id)},"reason":"${e.reason}","line":${line},"seq":${e.seq}}`;
    case "amended":
      return `{"type":"amended","id":${jsonString(e.id)},"price":${e.price},"qty":${e.qty},"priorityKept":${e.priorityKept},"seq":${e.seq}}`;
    case "triggered":
      return `{"type":"triggered","id":${jsonString(e.id)},"stopPrice":${e.stopPrice},"lastPrice":${e.lastPrice},"seq":${e.seq}}`;
    case "l2":
      return `{"type":"l2","side":"${e.side}","price":${e.price},"qty":${e.qty},"seq":${e.seq}}`;
  }
}
