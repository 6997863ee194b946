import { formatUnits, parseUnits } from "../../money/decimal.ts";

/**
 * Detector arithmetic on the audit log's decimal strings: every price and quantity becomes a
 * bigint at 18 decimal places (enough for any token or VND price), so nothing is rounded by
 * floating point. Ratios are compared by cross-multiplication in basis points.
 */
export const SCALE = 18;

/** Scaled units of a decimal string, or undefined when absent or malformed. */
export function toUnits(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const r = parseUnits(text, SCALE);
  return r.ok ? r.value : undefined;
}

/** Decimal string of scaled units ("1.5"). */
export function fromUnits(units: bigint): string {
  return formatUnits(units, SCALE);
}

/** Notional of price × qty, back at SCALE. */
export function notional(price: bigint, qty: bigint): bigint {
  return (price * qty) / 10n ** BigInt(SCALE);
}

/** True when `part / whole >= bps / 10000` (false when whole is 0). */
export function atLeastBps(part: bigint, whole: bigint, bps: number): boolean {
  return whole > 0n && part * 10000n >= BigInt(bps) * whole;
}

/** Signed move from `from` to `to` in whole basis points (truncated toward zero); for display. */
export function moveBps(from: bigint, to: bigint): number {
  if (from <= 0n) return 0;
  return Number(((to - from) * 10000n) / from);
}

export function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}
