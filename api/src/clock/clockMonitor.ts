import { existsSync } from "node:fs";
import type { AuditEventInput } from "../audit/auditEvent.ts";
import { isoMicros } from "../audit/auditEvent.ts";
import type { DivergenceSample, MicroClock } from "./microClock.ts";

/**
 * MiFID II RTS 25 (Delegated Regulation (EU) 2017/574) record keeping for the business clock:
 * what the clock is traced to, the maximum divergence from UTC the venue commits to, and the
 * divergence measured. A `clock.status` audit event is recorded at start and at every periodic
 * check whose divergence exceeds the bound (and once when it is back within it), so the audit
 * trail itself says when its timestamps could not be trusted to the bound. docs/clock.md.
 */
export type ClockMonitorOptions = {
  clock: MicroClock;
  /** How the system clock is kept on UTC, as the operator configured it (SEN_CLOCK_SOURCE). */
  source: string;
  /** The maximum divergence from UTC committed to, µs (SEN_CLOCK_MAX_DIVERGENCE_US). */
  maxDivergenceUs: number;
  /** Compare the clock with the wall clock this often, ms (SEN_CLOCK_CHECK_MS). */
  checkEveryMs: number;
  record: (e: AuditEventInput) => void;
  /** What the OS says about NTP synchronisation (default: systemdTimesyncState). */
  syncState?: () => SyncState;
  /** Called after every check (metrics). */
  onCheck?: (s: ClockStatus) => void;
  onError?: (err: unknown) => void;
};

/**
 * "synchronized": systemd-timesyncd says the system clock is synchronised. "unknown": nothing
 * Node can read says either way (chrony and ntpd expose their state through their own tools,
 * not a file; adjtimex is not reachable from Node), which is reported as such, never guessed.
 */
export type SyncState = "synchronized" | "unknown";

export type ClockStatus = {
  source: string;
  maxDivergenceUs: number;
  /** Timestamps are epoch microseconds: RTS 25 asks for 1 ms or better for this venue's category. */
  granularityUs: 1;
  syncState: SyncState;
  checkEveryMs: number;
  lastCheck: { at: string; divergenceUs: number; uncertaintyUs: number; correction: DivergenceSample["correction"] };
  /** The last measured divergence (plus its uncertainty) is within the bound. */
  withinBound: boolean;
  /** Excess over the wall clock still being shed by slewing, µs. */
  slewRemainingUs: number;
  checks: number;
  /** Checks whose divergence exceeded the bound since start. */
  exceeded: number;
};

/** systemd-timesyncd creates this file once it has synchronised the system clock (systemd-timesyncd.service(8)). */
export const TIMESYNCD_SYNCHRONIZED = "/run/systemd/timesync/synchronized";

export function systemdTimesyncState(): SyncState {
  return existsSync(TIMESYNCD_SYNCHRONIZED) ? "synchronized" : "unknown";
}

export type ClockMonitor = { status(): ClockStatus; checkNow(): ClockStatus; stop(): void };

export function startClockMonitor(o: ClockMonitorOptions): ClockMonitor {
  const syncState = o.syncState ?? systemdTimesyncState;
  let checks = 0;
  let exceeded = 0;
  let wasWithin = true;
  let state: SyncState = syncState();
  const within = (s: DivergenceSample) => Math.abs(s.divergenceUs) + s.uncertaintyUs <= o.maxDivergenceUs;

  const status = (): ClockStatus => {
    const s = o.clock.lastCheck;
    return {
      source: o.source,
      maxDivergenceUs: o.maxDivergenceUs,
      granularityUs: 1,
      syncState: state,
      checkEveryMs: o.checkEveryMs,
      lastCheck: { at: isoMicros(s.clockUs), divergenceUs: s.divergenceUs, uncertaintyUs: s.uncertaintyUs, correction: s.correction },
      withinBound: within(s),
      slewRemainingUs: o.clock.slewRemainingUs,
      checks,
      exceeded,
    };
  };

  const event = (st: ClockStatus, actor: string, reason: string): AuditEventInput => ({
    type: "clock.status",
    actor,
    reason,
    detail: {
      source: st.source,
      maxDivergenceUs: st.maxDivergenceUs,
      divergenceUs: st.lastCheck.divergenceUs,
      uncertaintyUs: st.lastCheck.uncertaintyUs,
      correction: st.lastCheck.correction,
      withinBound: st.withinBound,
      syncState: st.syncState,
      granularityUs: st.granularityUs,
    },
  });

  const checkNow = (): ClockStatus => {
    o.clock.check();
    checks++;
    state = syncState();
    const st = status();
    if (!st.withinBound) {
      exceeded++;
      o.record(event(st, "clock monitor", `divergence from the wall clock ${st.lastCheck.divergenceUs} µs (± ${st.lastCheck.uncertaintyUs}) exceeds the ${st.maxDivergenceUs} µs bound; ${st.lastCheck.correction === "slew" ? "slewing back" : "stepped forward"}`));
    } else if (!wasWithin) {
      o.record(event(st, "clock monitor", `back within the ${st.maxDivergenceUs} µs bound`));
    }
    wasWithin = st.withinBound;
    o.onCheck?.(st);
    return st;
  };

  // At start: a fresh measurement, recorded whatever it shows.
  o.clock.check();
  checks++;
  const first = status();
  wasWithin = first.withinBound;
  if (!first.withinBound) exceeded++;
  o.record(event(first, "gateway start", `business clock: ${first.source}; maximum divergence from UTC ${first.maxDivergenceUs} µs`));
  o.onCheck?.(first);

  const timer = setInterval(() => {
    try {
      checkNow();
    } catch (err) {
      o.onError?.(err);
    }
  }, o.checkEveryMs);
  timer.unref();
  return { status, checkNow, stop: () => clearInterval(timer) };
}
