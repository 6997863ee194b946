/**
 * The one place decimal strings meet integers. KuCoin's API carries amounts as decimal
 * strings ("10500", "0.25"); inside Sen every amount is an integer count of the currency's
 * smallest unit (bigint), so nothing is ever rounded by floating point.
 */
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

export type ParseResult = { ok: true; value: bigint } | { ok: false; reason: "format" | "precision" };

/**
 * Parses a non-negative decimal string into smallest units at `decimals` places. Refuses
 * exponents, signs, spaces and more fractional digits than the scale allows (trailing zeros
 * beyond the scale are accepted: "10.00" at 0 decimals is 10).
 */
export function parseUnits(text: string, decimals: number): ParseResult {
  const m = DECIMAL.exec(text);
  if (!m || text.length > 80) return { ok: false, reason: "format" };
  const whole = m[1];
  let frac = (m[2] ?? "").replace(/0+$/, "");
  if (frac.length > decimals) return { ok: false, reason: "precision" };
  frac = frac.padEnd(decimals, "0");
  return { ok: true, value: BigInt(whole + frac) };
}

/** Formats smallest units as a plain decimal string with trailing zeros trimmed ("10.5", "0", "12"). */
export function formatUnits(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const frac = decimals > 0 ? digits.slice(digits.length - decimals).replace(/0+$/, "") : "";
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/** `10^decimals` as a decimal string of the smallest unit, e.g. increment(2) = "0.01". */
export function increment(decimals: number): string {
  return formatUnits(1n, decimals);
}

/** ceil(a / b) for non-negative bigints. */
export function divCeil(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}
