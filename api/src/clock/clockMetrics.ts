import { Gauge, type Registry } from "prom-client";
import type { ClockStatus } from "./clockMonitor.ts";

/** The business clock's RTS 25 figures on /metrics; returns the update to call after each check. */
export function registerClockMetrics(registry: Registry): (s: ClockStatus) => void {
  const divergence = new Gauge({ name: "sen_clock_divergence_microseconds", help: "Business clock minus the wall (NTP-disciplined system) clock at the last check, µs", registers: [registry] });
  const uncertainty = new Gauge({ name: "sen_clock_divergence_uncertainty_microseconds", help: "Uncertainty of the last divergence measurement, µs", registers: [registry] });
  const bound = new Gauge({ name: "sen_clock_max_divergence_microseconds", help: "Maximum divergence from UTC committed to (SEN_CLOCK_MAX_DIVERGENCE_US), µs", registers: [registry] });
  const withinBound = new Gauge({ name: "sen_clock_within_bound", help: "1 when the last measured divergence (plus uncertainty) is within the bound", registers: [registry] });
  const synchronized = new Gauge({ name: "sen_clock_ntp_synchronized", help: "1 when the OS says the system clock is NTP-synchronised, 0 when it cannot tell", registers: [registry] });
  return (s) => {
    divergence.set(s.lastCheck.divergenceUs);
    uncertainty.set(s.lastCheck.uncertaintyUs);
    bound.set(s.maxDivergenceUs);
    withinBound.set(s.withinBound ? 1 : 0);
    synchronized.set(s.syncState === "synchronized" ? 1 : 0);
  };
}
