/**
 * Amounts as Vietnamese users read them (1.234.567 ₫; 12,5 in vi, 12.5 in en). Values stay the
 * gateway's decimal strings: the whole part goes through Intl as a bigint and the fraction is
 * kept digit for digit, so nothing is ever rounded through a float.
 */
import type { Lang } from "./lang.ts";

const LOCALE: Record<Lang, string> = { vi: "vi-VN", en: "en-US" };
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

export function locale(lang: Lang): string {
  return LOCALE[lang];
}

/** `1234567.50` → `1.234.567,50` (vi) / `1,234,567.50` (en); anything not a decimal is shown as is. */
export function formatDecimal(text: string | null | undefined, lang: Lang): string {
  if (text === null || text === undefined || text === "") return "—";
  const m = DECIMAL.exec(text);
  if (!m) return text;
  const whole = new Intl.NumberFormat(LOCALE[lang]).format(BigInt(m[2]));
  const sep = lang === "vi" ? "," : ".";
  return `${m[1]}${whole}${m[3] ? sep + m[3] : ""}`;
}

/** VND through Intl's currency style with a bigint: `1.234.567 ₫` (vi), `₫1,234,567` (en). */
export function formatVnd(text: string | null | undefined, lang: Lang): string {
  if (text === null || text === undefined || text === "") return "—";
  const m = DECIMAL.exec(text);
  if (!m) return text;
  const f = new Intl.NumberFormat(LOCALE[lang], { style: "currency", currency: "VND", maximumFractionDigits: 0 });
  const s = f.format(BigInt(`${m[1]}${m[2]}`));
  return m[3] && /[1-9]/.test(m[3]) ? `${s} (+0${lang === "vi" ? "," : "."}${m[3]})` : s;
}

/** An amount of `currency`: VND as money, anything else as a number with its code. */
export function formatAmount(text: string | null | undefined, currency: string, lang: Lang): string {
  return currency === "VND" ? formatVnd(text, lang) : `${formatDecimal(text, lang)} ${currency}`;
}

/** A ratio string (`0.0123`) as a signed percentage (`+1,23 %`); display only, not money. */
export function formatChange(rate: string | null | undefined, lang: Lang): string {
  const r = Number(rate ?? "0");
  if (!Number.isFinite(r)) return "—";
  const s = new Intl.NumberFormat(LOCALE[lang], { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero" }).format(r);
  return s;
}

/** What a user typed (`1.234.567`, `1,5`, `1 000`) as the API's decimal string, or null if it is not a number. */
export function parseInput(s: string, lang: Lang): string | null {
  let t = s.replace(/[\s₫]/g, "");
  if (t === "") return null;
  // vi: dots group thousands and the comma is the decimal mark; en: the reverse.
  t = lang === "vi" ? t.replace(/\./g, "").replace(",", ".") : t.replace(/,/g, "");
  if (!/^\d+(\.\d+)?$/.test(t)) return null;
  const [w, f] = t.split(".");
  const whole = w.replace(/^0+(?=\d)/, "");
  const frac = (f ?? "").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

/** Exact decimal arithmetic on strings via bigint: a scaled integer and its number of decimals. */
function scaled(text: string): [bigint, number] {
  const [w, f = ""] = text.split(".");
  return [BigInt(w + f), f.length];
}

function unscale(v: bigint, decimals: number): string {
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const frac = decimals ? digits.slice(digits.length - decimals).replace(/0+$/, "") : "";
  return `${neg ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/** price × size, exactly. */
export function multiply(a: string, b: string): string {
  const [x, dx] = scaled(a);
  const [y, dy] = scaled(b);
  return unscale(x * y, dx + dy);
}

export function add(a: string, b: string): string {
  const [x, dx] = scaled(a);
  const [y, dy] = scaled(b);
  const d = Math.max(dx, dy);
  return unscale(x * 10n ** BigInt(d - dx) + y * 10n ** BigInt(d - dy), d);
}

/** a < b, a = b, a > b as -1, 0, 1. */
export function compare(a: string, b: string): number {
  const [x, dx] = scaled(a);
  const [y, dy] = scaled(b);
  const d = Math.max(dx, dy);
  const l = x * 10n ** BigInt(d - dx);
  const r = y * 10n ** BigInt(d - dy);
  return l < r ? -1 : l > r ? 1 : 0;
}
