import { FastType, setFastLine } from "./scanFast.ts";

/**
 * The replay reader's first try for a line: the three fast shapes exactly as `JSON.stringify`
 * writes the engine's commands (keys in the Command types' order, no spaces), newline right
 * after the closing brace:
 *
 *   {"type":"limit","id":"…","owner":"…","side":"buy"|"sell","price":N,"qty":N}
 *   {"type":"market","id":"…","owner":"…","side":"buy"|"sell","qty":N}
 *   {"type":"cancel","id":"…"}
 *
 * Generated journals and the bench's files are all of this form, and matching it against fixed
 * templates (word compares, no key lookup) is several times cheaper than `scanSpans`, which
 * takes keys in any order, spaces and ignored keys. It also finds the line's end itself, so the
 * caller needs no separate newline search. Any other line returns -1 and goes through the
 * general path (newline search + `scanSpans`), which reads every line accepted here into the
 * same `fastLine` (property-tested in scanCanonical.test.ts), so this scanner is invisible in
 * the output.
 */

/** Template pieces as little-endian 32-bit words, compared through a DataView of the chunk. */
function words(text: string): Int32Array {
  const b = Buffer.from(text, "latin1");
  if (b.length % 4 !== 0) throw new RangeError(`scanCanonical: piece ${text} is not whole words`);
  const w = new Int32Array(b.length / 4);
  for (let i = 0; i < w.length; i++) w[i] = b.readInt32LE(i * 4);
  return w;
}

// Every piece ends just before a value's first byte; lengths are padded to whole words by
// taking in bytes of the key before (the opening quote of a string value is checked apart).
const W_TYPE = words('{"type":"'.slice(0, 8)); // '{"type":' then '"' apart
const W_LIMIT = words('limit","id":'); // 12
const W_MARKET = words('market","id":"'.slice(0, 12)); // 'market","id"' then ':"' apart
const W_CANCEL = words('cancel","id"'); // then ':"' apart
const W_OWNER = words('","owner":"'.slice(0, 8)); // '","owner' then '":"' apart
const W_SIDE = words('","side":"'.slice(0, 8)); // '","side"' then ':"' apart

const Q = 34; // "
const COLON = 58;
const COMMA = 44;
const CLOSE = 125; // }
const NL = 10;

/** Byte patterns after the fixed words: read by hand, they are 1-3 bytes. */
function at(buf: Uint8Array, i: number, a: number, b: number): boolean {
  return buf[i] === a && buf[i + 1] === b;
}

/**
 * End of a plain string value starting at i (just past its opening quote): the index of its
 * closing quote, or -1 if it has a byte `scanSpans` would refuse (escape, control, non-ASCII)
 * or runs past `end`.
 */
function stringEnd(buf: Uint8Array, i: number, end: number): number {
  for (; i < end; i++) {
    const c = buf[i];
    if (c === Q) return i;
    if (c === 92 || c >= 128 || c < 32) return -1;
  }
  return -1;
}

/** Digits of a number value starting at i, as `scanSpans` takes them (1-15, no leading zero); the result goes to `numEnd`/`numValue`. */
let numEnd = 0;
let numValue = 0;
function digits(buf: Uint8Array, i: number, end: number): boolean {
  const ds = i;
  let n = 0;
  for (; i < end; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  const len = i - ds;
  if (len === 0 || len > 15 || (len > 1 && buf[ds] === 48)) return false;
  numEnd = i;
  numValue = n;
  return true;
}

/**
 * For the last limit or market line `scanCanonical` took: the index just past its side value's
 * closing quote, and of its closing brace. In this form the accepted record's middle is the line's
 * own bytes (`"id":…,"owner":…,"side":…` and `,"price":N,"qty":N`), which the byte path copies.
 */
export const canonicalLine = { sideEnd: 0, close: 0 };

/**
 * Scans the line starting at `s` (at most to `end`, the chunk's length) if it is one of the
 * templates above; returns the index of its newline with `fastLine` filled, else -1.
 */
export function scanCanonical(buf: Buffer, dv: DataView, s: number, end: number): number {
  // the longest fixed run checked before a bounds-checked loop: '{"type":' + 'market","id"' + ':"'
  if (s + 24 > end) return -1;
  if (dv.getInt32(s, true) !== W_TYPE[0] || dv.getInt32(s + 4, true) !== W_TYPE[1] || buf[s + 8] !== Q) return -1;
  let i = s + 9;
  let type: number;
  if (dv.getInt32(i, true) === W_LIMIT[0] && dv.getInt32(i + 4, true) === W_LIMIT[1] && dv.getInt32(i + 8, true) === W_LIMIT[2]) {
    type = FastType.limit;
    i += 12;
  } else if (dv.getInt32(i, true) === W_MARKET[0] && dv.getInt32(i + 4, true) === W_MARKET[1] && dv.getInt32(i + 8, true) === W_MARKET[2]) {
    type = FastType.market;
    i += 12;
    if (buf[i++] !== COLON) return -1;
  } else if (dv.getInt32(i, true) === W_CANCEL[0] && dv.getInt32(i + 4, true) === W_CANCEL[1] && dv.getInt32(i + 8, true) === W_CANCEL[2]) {
    type = FastType.cancel;
    i += 12;
    if (buf[i++] !== COLON) return -1;
  } else return -1;
  if (buf[i++] !== Q) return -1;
  const idStart = i;
  i = stringEnd(buf, i, end);
  if (i < 0) return -1;
  if (type === FastType.cancel) {
    if (i + 2 >= end || buf[i + 1] !== CLOSE || buf[i + 2] !== NL) return -1;
    setFastLine(type, idStart, i - idStart, 0, 0, true, 0, 0);
    return i + 2;
  }
  const idLen = i - idStart;
  // '","owner":"'
  if (i + 11 > end || dv.getInt32(i, true) !== W_OWNER[0] || dv.getInt32(i + 4, true) !== W_OWNER[1] || buf[i + 8] !== Q || !at(buf, i + 9, COLON, Q)) return -1;
  i += 11;
  const ownerStart = i;
  i = stringEnd(buf, i, end);
  if (i < 0) return -1;
  const ownerLen = i - ownerStart;
  // '","side":"' then buy" or sell"
  if (i + 15 > end || dv.getInt32(i, true) !== W_SIDE[0] || dv.getInt32(i + 4, true) !== W_SIDE[1] || !at(buf, i + 8, COLON, Q)) return -1;
  i += 10;
  let buy: boolean;
  if (buf[i] === 98 && buf[i + 1] === 117 && buf[i + 2] === 121 && buf[i + 3] === Q) {
    buy = true;
    i += 4;
  } else if (buf[i] === 115 && buf[i + 1] === 101 && buf[i + 2] === 108 && buf[i + 3] === 108 && buf[i + 4] === Q) {
    buy = false;
    i += 5;
  } else return -1;
  const sideEnd = i;
  let price = 0;
  if (type === FastType.limit) {
    // ',"price":'
    if (i + 10 > end || buf[i] !== COMMA || buf[i + 1] !== Q || buf[i + 2] !== 112 || buf[i + 3] !== 114 || buf[i + 4] !== 105 || buf[i + 5] !== 99 || buf[i + 6] !== 101 || buf[i + 7] !== Q || buf[i + 8] !== COLON) return -1;
    if (!digits(buf, i + 9, end)) return -1;
    price = numValue;
    i = numEnd;
  }
  // ',"qty":'
  if (i + 8 > end || buf[i] !== COMMA || buf[i + 1] !== Q || buf[i + 2] !== 113 || buf[i + 3] !== 116 || buf[i + 4] !== 121 || buf[i + 5] !== Q || buf[i + 6] !== COLON) return -1;
  if (!digits(buf, i + 7, end)) return -1;
  i = numEnd;
  if (i + 1 >= end || buf[i] !== CLOSE || buf[i + 1] !== NL) return -1;
  setFastLine(type, idStart, idLen, ownerStart, ownerLen, buy, price, numValue);
  canonicalLine.sideEnd = sideEnd;
  canonicalLine.close = i;
  return i + 1;
}
