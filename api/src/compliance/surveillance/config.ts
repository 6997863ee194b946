import { SurveillanceError, SurveillanceCode } from "./errors.ts";

/**
 * Surveillance thresholds. Flat so that `createSurveillance({ washRingMinTrades: 8 })`
 * overrides one value. Ratios and price moves are integers in basis points (1 bp = 0.01%);
 * notional amounts are decimal strings in the quote currency (VND).
 */
export type SurveillanceConfig = {
  /** After an alert, the same (rule, pattern, identities, symbol) is not raised again for this long. */
  cooldownSeconds: number;
  /** At most this many audit sequences are attached to one alert (the rest are summarised in `detail`). */
  maxEvidenceSeqs: number;

  // WASH_RING
  washRingWindowSeconds: number;
  washRingMinTrades: number;
  washRingMaxIdentities: number;
  /** Each member's |bought − sold| within the ring must be at most this share of its gross. */
  washRingNetToleranceBps: number;
  /** Each member's ring trading must be at least this share of all its trading in the symbol within the window. */
  washRingMinShareBps: number;
  /** Recent counterparties per identity considered when looking for rings of 3+ (bounds the work per trade). */
  washRingNeighbourLimit: number;

  // SPOOFING
  /** The large order must be cancelled within this long of being placed. */
  spoofWindowSeconds: number;
  /** ... and within this long after the same identity's opposite-side fill. */
  spoofCancelAfterFillSeconds: number;
  /** "Large": at least this multiple of the symbol's median order size ... */
  spoofSizeMultiple: number;
  /** ... once this many orders of the symbol have been seen ... */
  spoofMinSamples: number;
  /** ... over the last this many orders of the symbol; */
  spoofSizeSampleWindow: number;
  /** ... or a notional (price × qty, VND) of at least this. */
  spoofMinNotional: string;
  /** The large order's limit price is at least this far from the reference price, on its passive side. */
  spoofAwayBps: number;

  // QUOTE_STUFFING
  stuffingBurstWindowSeconds: number;
  stuffingBurstMinMessages: number;
  /** Messages per trade (order-to-trade ratio), as an integer ratio N:1. */
  stuffingBurstMinOtr: number;
  stuffingSustainedWindowSeconds: number;
  stuffingSustainedMinMessages: number;
  stuffingSustainedMinOtr: number;

  // MARKING_THE_CLOSE
  /** UTC times of day at which a trading window closes ("HH:MM" or "HH:MM:SS"). 07:45 UTC = 14:45 ICT. */
  closeTimesUtc: string[];
  closeWindowMinutes: number;
  /** One identity's taker volume in one direction, as a share of the symbol's volume in the window. */
  closeMinShareBps: number;
  closeMinMoveBps: number;
  /** Trades in the symbol within the window before the rule is evaluated. */
  closeMinTrades: number;

  // MARKING_THE_CLOSE, momentum ignition variant
  ignitionWindowSeconds: number;
  ignitionMinMoveBps: number;
  ignitionMinShareBps: number;
  ignitionMinTakerFills: number;
  ignitionReversalSeconds: number;
};

export const DEFAULT_SURVEILLANCE: Readonly<SurveillanceConfig> = Object.freeze({
  cooldownSeconds: 300,
  maxEvidenceSeqs: 100,

  washRingWindowSeconds: 600,
  washRingMinTrades: 6,
  washRingMaxIdentities: 4,
  washRingNetToleranceBps: 500,
  washRingMinShareBps: 5000,
  washRingNeighbourLimit: 6,

  spoofWindowSeconds: 60,
  spoofCancelAfterFillSeconds: 10,
  spoofSizeMultiple: 5,
  spoofMinSamples: 20,
  spoofSizeSampleWindow: 200,
  spoofMinNotional: "1000000000",
  spoofAwayBps: 50,

  stuffingBurstWindowSeconds: 10,
  stuffingBurstMinMessages: 500,
  stuffingBurstMinOtr: 100,
  stuffingSustainedWindowSeconds: 300,
  stuffingSustainedMinMessages: 1000,
  stuffingSustainedMinOtr: 250,

  closeTimesUtc: ["07:45"],
  closeWindowMinutes: 5,
  closeMinShareBps: 5000,
  closeMinMoveBps: 200,
  closeMinTrades: 3,

  ignitionWindowSeconds: 60,
  ignitionMinMoveBps: 300,
  ignitionMinShareBps: 5000,
  ignitionMinTakerFills: 2,
  ignitionReversalSeconds: 120,
});

/** Defaults overlaid with `overrides`, validated (throws SURVEILLANCE_BAD_CONFIG). */
export function resolveSurveillanceConfig(overrides: Partial<SurveillanceConfig> = {}): SurveillanceConfig {
  const c: SurveillanceConfig = { ...DEFAULT_SURVEILLANCE, closeTimesUtc: [...DEFAULT_SURVEILLANCE.closeTimesUtc] };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (c as Record<string, unknown>)[k] = v;
  for (const [k, v] of Object.entries(c)) {
    if (typeof v === "number" && (!Number.isFinite(v) || v < 0)) bad(`${k} must be a non-negative number`, { [k]: v });
  }
  for (const k of ["washRingMinTrades", "stuffingBurstMinMessages", "stuffingSustainedMinMessages", "maxEvidenceSeqs", "spoofSizeSampleWindow"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) bad(`${k} must be a positive integer`, { [k]: c[k] });
  }
  if (!Number.isInteger(c.washRingMaxIdentities) || c.washRingMaxIdentities < 2 || c.washRingMaxIdentities > 4) bad("washRingMaxIdentities must be 2, 3 or 4", { washRingMaxIdentities: c.washRingMaxIdentities });
  if (!/^\d+(\.\d+)?$/.test(c.spoofMinNotional)) bad("spoofMinNotional must be a decimal string", { spoofMinNotional: c.spoofMinNotional });
  for (const t of c.closeTimesUtc) parseTimeOfDay(t);
  return c;
}

const DAY_SECONDS = 86_400;

/** Seconds after UTC midnight of "HH:MM" / "HH:MM:SS". */
export function parseTimeOfDay(text: string): number {
  const m = /^(\d\d):(\d\d)(?::(\d\d))?$/.exec(text);
  const s = m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0) : NaN;
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59 || !(s < DAY_SECONDS)) bad(`close time must be HH:MM[:SS] UTC, got ${JSON.stringify(text)}`, { closeTime: text });
  return s;
}

function bad(message: string, details: Record<string, unknown>): never {
  throw new SurveillanceError(SurveillanceCode.BAD_CONFIG, message, { details });
}
