import type { AuditEvent } from "../audit/auditEvent.ts";
import type { SurveillanceConfig } from "./config.ts";
import type { Alert, Detector } from "./types.ts";
import { resolveSurveillanceConfig } from "./config.ts";
import { Cooldown } from "./cooldown.ts";
import { createMarkingTheCloseDetector } from "./markingTheClose.ts";
import { createQuoteStuffingDetector } from "./quoteStuffing.ts";
import { createSettlementFailureDetector } from "./settlementFailures.ts";
import { createSpoofingDetector } from "./spoofing.ts";
import { eventMicros, seconds } from "./time.ts";
import { createWashRingDetector, createWashSameIdentityDetector } from "./washTrades.ts";

export type Surveillance = {
  onEvent(e: AuditEvent): Alert[];
  readonly config: Readonly<SurveillanceConfig>;
  readonly detectors: readonly Detector[];
};

/**
 * The market-abuse detectors, fed one audit event at a time (in log order). Every event goes
 * to every detector; alerts come back synchronously. Deterministic: the same events give the
 * same alerts with the same ids, whatever the wall clock. One cool-down, shared by all
 * detectors, keeps a pattern that stays true from raising one alert per event.
 */
export function createSurveillance(overrides: Partial<SurveillanceConfig> = {}): Surveillance {
  const config = Object.freeze(resolveSurveillanceConfig(overrides));
  const cooldown = new Cooldown(seconds(config.cooldownSeconds));
  const detectors: readonly Detector[] = [
    createWashSameIdentityDetector(config, cooldown),
    createWashRingDetector(config, cooldown),
    createSpoofingDetector(config, cooldown),
    createQuoteStuffingDetector(config, cooldown),
    createMarkingTheCloseDetector(config, cooldown),
    createSettlementFailureDetector(config.maxEvidenceSeqs),
  ];
  // Alert ids already returned, for the cool-down window (belt and braces: ids embed the trigger seq).
  const recent = new Map<string, bigint>();
  const window = seconds(config.cooldownSeconds);
  return {
    config,
    detectors,
    onEvent(e: AuditEvent): Alert[] {
      if (e.type === "alert.raised" || e.type === "audit.query") return [];
      const out: Alert[] = [];
      for (const d of detectors) {
        for (const a of d.onEvent(e)) {
          if (recent.has(a.alertId)) continue;
          recent.set(a.alertId, eventMicros(e));
          out.push(a);
        }
      }
      if (out.length > 0 || recent.size > 0) {
        const cutoff = eventMicros(e) - window;
        for (const [id, t] of recent) {
          if (t >= cutoff) break;
          recent.delete(id);
        }
      }
      return out;
    },
  };
}
