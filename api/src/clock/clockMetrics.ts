import { Gauge, type Registry } from "prom-client";
import type { ClockStatus } from "./clockMonitor.ts";
import { TIMESYNCD_SYNCHRONIZED_TEXT } from "./utcTraceability.ts";

/** The business clock's RTS 25 figures on /metrics (named for what they measure); returns the update to call after each check. */
export function registerClockMetrics(registry: Registry): (s: ClockStatus) => void {
  const divergence = new Gauge({ name: "sen_clock_divergence_from_system_clock_microseconds", help: "Business clock minus the system clock it follows, at the last check, µs (not a divergence from UTC)", registers: [registry] });
  const uncertainty = new Gauge({ name: "sen_clock_divergence_from_system_clock_uncertainty_microseconds", help: "Uncertainty of the last divergence measurement, µs", registers: [registry] });
  const bound = new Gauge({ name: "sen_clock_max_divergence_microseconds", help: "Maximum divergence from UTC committed to (SEN_CLOCK_MAX_DIVERGENCE_US), µs", registers: [registry] });
  const withinBound = new Gauge({ name: "sen_clock_within_bound_of_system_clock", help: "1 when the last measured divergence from the system clock (plus uncertainty) is within the bound", registers: [registry] });
  const slewing = new Gauge({ name: "sen_clock_slew_remaining_microseconds", help: "Excess over the system clock still being shed by slewing (a step back, the restart floor), µs", registers: [registry] });
  const synchronized = new Gauge({ name: "sen_clock_utc_synchronized", help: "1 when systemd-timesyncd or chrony (leap status Normal) says the system clock is synchronised; 0 when not, or not measured by Sen", registers: [registry] });
  return (s) => {
    divergence.set(s.lastCheck.divergenceFromSystemClockUs);
    uncertainty.set(s.lastCheck.uncertaintyUs);
    bound.set(s.maxDivergenceUs);
    withinBound.set(s.withinBoundOfSystemClock ? 1 : 0);
    slewing.set(s.slewRemainingUs);
    synchronized.set(s.utcTraceability === TIMESYNCD_SYNCHRONIZED_TEXT || (s.utcTraceability.startsWith("chrony:") && s.utcTraceability.includes("leap status Normal")) ? 1 : 0);
  };
}
