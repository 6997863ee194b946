/**
 * Byte-level scanner for one replay line: a flat JSON object whose values are
 * strings without escapes, integers (at most 15 digits), true/false/null.
 * Returns the object, or null when the line is anything else; the caller
 * then falls back to JSON.parse (which handles escapes, nesting, big numbers,
 * non-ASCII). Known keys and values come back as shared constant strings, so
 * a typical command allocates one object and its id/owner strings.
 */

const KEYS = [
  "type",
  "id",
  "owner",
  "side",
  "price",
  "qty",
  "tif",
  "stp",
  "funds",
  "symbol",
  "stopPrice",
  "postOnly",
  "displayQty",
  "beneficialOwner",
  "ts",
];
const VALUES = ["limit", "market", "cancel", "cancelAll", "amend", "stop", "buy", "sell", "GTC", "IOC", "FOK"];

interface Word {
  s: string;
  b: Uint8Array;
}
/** Candidate words by length, to match bytes without making a string. */
function table(words: string[]): Word[][] {
  const t: Word[][] = [];
  for (const s of words) (t[s.length] ??= []).push({ s, b: Buffer.from(s, "latin1") });
  return t;
}
const KEY_TABLE = table(KEYS);
const VALUE_TABLE = table(VALUES);

function known(t: Word[][], buf: Uint8Array, s: number, n: number): string | null {
  const cands = t[n];
  if (cands === undefined) return null;
  outer: for (let k = 0; k < cands.length; k++) {
    const w = cands[k].b;
    for (let i = 0; i < n; i++) if (buf[s + i] !== w[i]) continue outer;
    return cands[k].s;
  }
  return null;
}

/**
 * Bytes [s, e) as a Latin-1 string. Short ones (ids, owners) in one String.fromCharCode call
 * with the bytes as arguments: no intermediate strings (a += loop made one per byte) and no
 * call into C++ (latin1Slice), which costs more than the copy for a few bytes.
 */
export function latin1(b: Buffer, s: number, e: number): string {
  switch (e - s) {
    case 0:
      return "";
    case 1:
      return String.fromCharCode(b[s]);
    case 2:
      return String.fromCharCode(b[s], b[s + 1]);
    case 3:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2]);
    case 4:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3]);
    case 5:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4]);
    case 6:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5]);
    case 7:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6]);
    case 8:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7]);
    case 9:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7], b[s + 8]);
    case 10:
      return String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7], b[s + 8], b[s + 9]);
    default:
      return (b as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(s, e);
  }
}

export function scanCommand(buf: Buffer, start: number, end: number): Record<string, unknown> | null {
  let i = start;
  while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
  if (buf[i] !== 123) return null; // {
  i++;
  const o: Record<string, unknown> = {};
  for (;;) {
    while (buf[i] === 32 || buf[i] === 9) i++;
    if (buf[i] !== 34) {
      if (buf[i] === 125 && Object.keys(o).length === 0) {
        i++;
        break;
      }
      return null;
    }
    i++;
    const ks = i;
    while (i < end && buf[i] !== 34) {
      if (buf[i] === 92 || buf[i] >= 128) return null;
      i++;
    }
    if (i >= end) return null;
    const key = known(KEY_TABLE, buf, ks, i - ks) ?? latin1(buf, ks, i);
    i++;
    while (buf[i] === 32 || buf[i] === 9) i++;
    if (buf[i] !== 58) return null; // :
    i++;
    while (buf[i] === 32 || buf[i] === 9) i++;
    const c = buf[i];
    let v: unknown;
    if (c === 34) {
      i++;
      const vs = i;
      while (i < end && buf[i] !== 34) {
        if (buf[i] === 92 || buf[i] >= 128 || buf[i] < 32) return null;
        i++;
      }
      if (i >= end) return null;
      v = known(VALUE_TABLE, buf, vs, i - vs) ?? latin1(buf, vs, i);
      i++;
    } else if ((c >= 48 && c <= 57) || c === 45) {
      let neg = false;
      if (c === 45) {
        neg = true;
        i++;
      }
      const ds = i;
      let n = 0;
      while (i < end && buf[i] >= 48 && buf[i] <= 57) n = n * 10 + (buf[i++] - 48);
      const len = i - ds;
      if (len === 0 || len > 15 || (len > 1 && buf[ds] === 48)) return null;
      const nc = buf[i];
      if (nc === 46 || nc === 101 || nc === 69) return null; // . e E
      v = neg ? -n : n;
    } else if (c === 116 && buf[i + 1] === 114 && buf[i + 2] === 117 && buf[i + 3] === 101) {
      v = true;
      i += 4;
    } else if (c === 102 && buf[i + 1] === 97 && buf[i + 2] === 108 && buf[i + 3] === 115 && buf[i + 4] === 101) {
      v = false;
      i += 5;
    } else if (c === 110 && buf[i + 1] === 117 && buf[i + 2] === 108 && buf[i + 3] === 108) {
      v = null;
      i += 4;
    } else return null;
    // A duplicate key, or "__proto__" (an assignment would set the prototype, where JSON.parse
    // makes an own property): let JSON.parse decide.
    if (key === "__proto__" || Object.hasOwn(o, key)) return null;
    o[key] = v;
    while (buf[i] === 32 || buf[i] === 9) i++;
    if (buf[i] === 44) {
      i++;
      continue;
    }
    if (buf[i] === 125) {
      i++;
      break;
    }
    return null;
  }
  while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
  return i === end ? o : null;
}
