import type { CancelCommand, Command, LimitCommand, MarketCommand } from "../command.ts";
import { latin1 } from "./scanCommand.ts";

/**
 * Fast path of the replay reader for the three common command shapes:
 * `{"type":"limit","id","owner","side","price","qty"}`, market (same without
 * price) and `{"type":"cancel","id"}`, keys in any order, optional `symbol`
 * (ignored by the replay) and integer `ts` (never read). Values must be plain
 * strings (no escapes, ASCII) and non-negative integers of at most 15 digits.
 * The fields go into one reused command object per shape, so a line costs
 * no object allocation (only its id/owner strings). Anything else returns
 * null and the caller uses the general scanner / JSON.parse path, which
 * gives the same result for these shapes (so the fast path is invisible).
 * The returned object is only valid until the next call.
 */
const F_TYPE = 1;
const F_ID = 2;
const F_OWNER = 4;
const F_SIDE = 8;
const F_PRICE = 16;
const F_QTY = 32;
const F_SYMBOL = 64;
const F_TS = 128;
const IGNORED = F_SYMBOL | F_TS;
const LIMIT_KEYS = F_TYPE | F_ID | F_OWNER | F_SIDE | F_PRICE | F_QTY;
const MARKET_KEYS = F_TYPE | F_ID | F_OWNER | F_SIDE | F_QTY;
const CANCEL_KEYS = F_TYPE | F_ID;

const T_LIMIT = 1;
const T_MARKET = 2;
const T_CANCEL = 3;

const limitCmd: LimitCommand = { type: "limit", id: "", owner: "", side: "buy", price: 0, qty: 0 };
const marketCmd: MarketCommand = { type: "market", id: "", owner: "", side: "buy", qty: 0 };
const cancelCmd: CancelCommand = { type: "cancel", id: "" };

function eq(buf: Buffer, s: number, n: number, word: string): boolean {
  if (n !== word.length) return false;
  for (let i = 0; i < n; i++) if (buf[s + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** Key bit for the key bytes buf[s, s+n), 0 if not a fast-path key. */
function keyBit(buf: Buffer, s: number, n: number): number {
  switch (n) {
    case 2:
      return buf[s] === 105 && buf[s + 1] === 100 ? F_ID : buf[s] === 116 && buf[s + 1] === 115 ? F_TS : 0; // id, ts
    case 3:
      return eq(buf, s, n, "qty") ? F_QTY : 0;
    case 4:
      return eq(buf, s, n, "type") ? F_TYPE : eq(buf, s, n, "side") ? F_SIDE : 0;
    case 5:
      return eq(buf, s, n, "owner") ? F_OWNER : eq(buf, s, n, "price") ? F_PRICE : 0;
    case 6:
      return eq(buf, s, n, "symbol") ? F_SYMBOL : 0;
    default:
      return 0;
  }
}

/** Command shapes of the fast path (`FastLine.type`). */
export const FastType = { limit: T_LIMIT, market: T_MARKET, cancel: T_CANCEL } as const;

/**
 * One fast-path line as byte spans into the scanned buffer (valid until the buffer is reused):
 * the byte-level replay reads ids and owners from here without making strings.
 */
export interface FastLine {
  type: number;
  idStart: number;
  idLen: number;
  ownerStart: number;
  ownerLen: number;
  buy: boolean;
  price: number;
  qty: number;
}

/** The one FastLine scanSpans fills (reused, so a line allocates nothing). */
export const fastLine: FastLine = { type: 0, idStart: 0, idLen: 0, ownerStart: 0, ownerLen: 0, buy: true, price: 0, qty: 0 };

/** Fills `fastLine` with a scanned line's fields (both scanners end with it). */
export function setFastLine(type: number, idStart: number, idLen: number, ownerStart: number, ownerLen: number, buy: boolean, price: number, qty: number): void {
  const f = fastLine;
  f.type = type;
  f.idStart = idStart;
  f.idLen = idLen;
  f.ownerStart = ownerStart;
  f.ownerLen = ownerLen;
  f.buy = buy;
  f.price = price;
  f.qty = qty;
}

/**
 * Scans one line of a fast-path shape into `fastLine` (spans, no strings); returns false for
 * anything else. Exactly the lines scanFast accepts (scanFast is this plus the strings).
 */
export function scanSpans(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && (buf[i] === 32 || buf[i] === 9)) i++;
  if (buf[i] !== 123) return false;
  i++;
  let seen = 0;
  let type = 0;
  let idStart = 0;
  let idLen = 0;
  let ownerStart = 0;
  let ownerLen = 0;
  let buy = true;
  let price = 0;
  let qty = 0;
  for (;;) {
    while (buf[i] === 32 || buf[i] === 9) i++;
    if (buf[i] !== 34) return false;
    const ks = ++i;
    while (i < end && buf[i] !== 34) i++;
    const bit = keyBit(buf, ks, i - ks);
    if (bit === 0 || (seen & bit) !== 0 || i >= end) return false;
    seen |= bit;
    i++;
    while (buf[i] === 32 || buf[i] === 9) i++;
    if (buf[i] !== 58) return false; // :
    i++;
    while (buf[i] === 32 || buf[i] === 9) i++;
    if (bit === F_PRICE || bit === F_QTY || bit === F_TS) {
      const ds = i;
      let n = 0;
      while (i < end && buf[i] >= 48 && buf[i] <= 57) n = n * 10 + (buf[i++] - 48);
      const len = i - ds;
      if (len === 0 || len > 15 || (len > 1 && buf[ds] === 48)) return false;
      const nc = buf[i];
      if (nc === 46 || nc === 101 || nc === 69) return false; // . e E
      if (bit === F_PRICE) price = n;
      else if (bit === F_QTY) qty = n;
    } else {
      if (buf[i] !== 34) return false;
      const vs = ++i;
      while (i < end && buf[i] !== 34) {
        const c = buf[i];
        if (c === 92 || c >= 128 || c < 32) return false;
        i++;
      }
      if (i >= end) return false;
      const n = i - vs;
      i++;
      if (bit === F_ID) {
        idStart = vs;
        idLen = n;
      } else if (bit === F_OWNER) {
        ownerStart = vs;
        ownerLen = n;
      } else if (bit === F_SIDE) {
        if (eq(buf, vs, n, "buy")) buy = true;
        else if (eq(buf, vs, n, "sell")) buy = false;
        else return false;
      } else if (bit === F_TYPE) {
        type = eq(buf, vs, n, "limit") ? T_LIMIT : eq(buf, vs, n, "market") ? T_MARKET : eq(buf, vs, n, "cancel") ? T_CANCEL : 0;
        if (type === 0) return false;
      }
    }
    while (buf[i] === 32 || buf[i] === 9) i++;
    if (buf[i] === 44) {
      i++;
      continue;
    }
    if (buf[i] === 125) {
      i++;
      break;
    }
    return false;
  }
  while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
  if (i !== end) return false;
  const keys = seen & ~IGNORED;
  if (!((type === T_LIMIT && keys === LIMIT_KEYS) || (type === T_MARKET && keys === MARKET_KEYS) || (type === T_CANCEL && keys === CANCEL_KEYS))) return false;
  setFastLine(type, idStart, idLen, ownerStart, ownerLen, buy, price, qty);
  return true;
}

export function scanFast(buf: Buffer, start: number, end: number): Command | null {
  if (!scanSpans(buf, start, end)) return null;
  const f = fastLine;
  const id = latin1(buf, f.idStart, f.idStart + f.idLen);
  if (f.type === T_LIMIT) {
    const c = limitCmd;
    c.id = id;
    c.owner = latin1(buf, f.ownerStart, f.ownerStart + f.ownerLen);
    c.side = f.buy ? "buy" : "sell";
    c.price = f.price;
    c.qty = f.qty;
    return c;
  }
  if (f.type === T_MARKET) {
    const c = marketCmd;
    c.id = id;
    c.owner = latin1(buf, f.ownerStart, f.ownerStart + f.ownerLen);
    c.side = f.buy ? "buy" : "sell";
    c.qty = f.qty;
    return c;
  }
  cancelCmd.id = id;
  return cancelCmd;
}
