/** Display helpers. Values stay as the gateway sent them (decimal strings, ISO with microseconds). */

/** `2026-11-23T10:15:30.123456Z` → `2026-11-23 10:15:30.123456 UTC` (no rounding, no time zone shift). */
export function formatTime(ts: string | undefined): string {
  if (!ts) return "";
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)Z$/.exec(ts);
  return m ? `${m[1]} ${m[2]} UTC` : ts;
}

/** Accepts an ISO UTC time or the displayed form (`2026-11-23 10:15:30.123456 UTC`); returns ISO or "" (empty input). */
export function parseTimeInput(s: string): string {
  const t = s.trim();
  if (!t) return "";
  const m = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?)\s*(?:Z|UTC)?$/i.exec(t);
  if (!m) return t; // the server explains what it wants
  const time = m[2].length === 5 ? `${m[2]}:00` : m[2];
  return `${m[1]}T${time}Z`;
}

/** `0x1234…abcd` for hashes and addresses; the full value goes in the title. */
export function short(h: string | undefined, keep = 6): string {
  if (!h) return "";
  return h.length > 2 * keep + 3 ? `${h.slice(0, keep)}…${h.slice(-4)}` : h;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/** The quote currency of a symbol (`GOLD-VND` → `VND`). */
export function quoteOf(symbol: string | undefined): string | undefined {
  return symbol?.split("-")[1];
}

/** The base asset of a symbol (`GOLD-VND` → `GOLD`). */
export function baseOf(symbol: string | undefined): string | undefined {
  return symbol?.split("-")[0];
}

/**
 * A decimal string grouped for reading, the digits unchanged (no float): đồng the Vietnamese way,
 * `1234000` → `1.234.000 ₫`; other currencies `1,234.5 GOLD`; no currency: grouped only.
 */
export function formatAmount(value: string | undefined, currency?: string): string {
  if (value === undefined || value === "") return "";
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value);
  if (!m) return currency ? `${value} ${currency}` : value;
  const vnd = currency === "VND";
  const int = m[2].replace(/\B(?=(\d{3})+(?!\d))/g, vnd ? "." : ",");
  const n = `${m[1]}${int}${m[3] ? `${vnd ? "," : "."}${m[3]}` : ""}`;
  return vnd ? `${n} ₫` : currency ? `${n} ${currency}` : n;
}
