import type { AuditEventInput } from "../compliance/audit/auditEvent.ts";
import { isoMicros } from "../compliance/audit/auditEvent.ts";
import type { ClockSampler } from "./clockSampler.ts";
import type { DivergenceSample, MicroClock } from "./microClock.ts";
import { measureUtcTraceability, type UtcTraceability } from "./utcTraceability.ts";

/**
 * MiFID II RTS 25 (Delegated Regulation (EU) 2017/574) record keeping for the business clock:
 * what the system clock is traced to (as configured, and what Sen can read of it:
 * `utcTraceability`), the maximum divergence from UTC the venue commits to, and the divergence
 * of the business clock from the system clock it follows. That last figure is NOT a divergence
 * from UTC (the business clock is the system clock, kept strictly increasing, so it stays near
 * 0 whatever UTC does); it shows when the business clock ran apart from the system clock (a
 * step back being slewed, the restart floor). A `clock.status` audit event is recorded at start
 * and at every periodic check beyond the bound (and once when back within it). docs/clock.md.
 */
export type ClockMonitorOptions = {
  clock: MicroClock;
  /** How the system clock is kept on UTC, as the operator configured it (SEN_CLOCK_SOURCE). */
  source: string;
  /** The maximum divergence from UTC committed to, µs (SEN_CLOCK_MAX_DIVERGENCE_US). */
  maxDivergenceUs: number;
  /** Compare the clock with the system clock this often, ms (SEN_CLOCK_CHECK_MS). */
  checkEveryMs: number;
  record: (e: AuditEventInput) => void;
  /** Periodic checks sample the system clock in this worker instead of spinning here (system clock only); closed by stop(). */
  sampler?: ClockSampler;
  /** What can be read of the system clock's traceability to UTC (default: measureUtcTraceability). */
  traceability?: () => Promise<UtcTraceability>;
  /**
   * Read the traceability again at most this often, ms (default 60,000; it changes slowly, and
   * reading it can start a child process, which holds the event loop for some ms).
   */
  traceabilityEveryMs?: number;
  /** The restart floor the clock was raised to (clock.notBefore), reported in the start event. */
  floor?: RestartFloor;
  /** Called after every check (metrics). */
  onCheck?: (s: ClockStatus) => void;
  onError?: (err: unknown) => void;
};

/** The latest time already recorded when the gateway started (journal, audit log): readings start above it. */
export type RestartFloor = { us: bigint; from: string; raisedUs: number };

export type ClockStatus = {
  source: string;
  maxDivergenceUs: number;
  /** Timestamps are epoch microseconds: RTS 25 asks for 1 ms or better for this venue's category. */
  granularityUs: 1;
  /** What Sen could read of the system clock's traceability to UTC (utcTraceability.ts), never guessed. */
  utcTraceability: UtcTraceability;
  checkEveryMs: number;
  lastCheck: { at: string; divergenceFromSystemClockUs: number; uncertaintyUs: number; correction: DivergenceSample["correction"] };
  /** The last measured divergence from the system clock (plus its uncertainty) is within the bound. */
  withinBoundOfSystemClock: boolean;
  /** Excess over the system clock still being shed by slewing, µs. */
  slewRemainingUs: number;
  /** The restart floor, when it raised the clock above the system clock. */
  restartFloor?: { at: string; from: string; aboveSystemClockUs: number };
  checks: number;
  /** Checks whose divergence exceeded the bound since start. */
  exceeded: number;
};

export type ClockMonitor = { status(): ClockStatus; checkNow(): ClockStatus; checkInWorker(): Promise<ClockStatus | undefined>; stop(): void };

export async function startClockMonitor(o: ClockMonitorOptions): Promise<ClockMonitor> {
  const measure = o.traceability ?? (() => measureUtcTraceability());
  const traceabilityEveryMs = o.traceabilityEveryMs ?? 60_000;
  let measuredAt = 0;
  /** The last reading when it is recent enough, else a fresh one. */
  const traceability = async (): Promise<UtcTraceability> => {
    const now = Date.now();
    if (measuredAt !== 0 && now - measuredAt < traceabilityEveryMs) return utc;
    measuredAt = now;
    return measure();
  };
  let checks = 0;
  let exceeded = 0;
  let wasWithin = true;
  let utc = await traceability();
  const within = (s: DivergenceSample) => Math.abs(s.divergenceUs) + s.uncertaintyUs <= o.maxDivergenceUs;
  const floor = o.floor && o.floor.raisedUs > 0 ? { at: isoMicros(o.floor.us), from: o.floor.from, aboveSystemClockUs: o.floor.raisedUs } : undefined;

  const status = (): ClockStatus => {
    const s = o.clock.lastCheck;
    return {
      source: o.source,
      maxDivergenceUs: o.maxDivergenceUs,
      granularityUs: 1,
      utcTraceability: utc,
      checkEveryMs: o.checkEveryMs,
      lastCheck: { at: isoMicros(s.clockUs), divergenceFromSystemClockUs: s.divergenceUs, uncertaintyUs: s.uncertaintyUs, correction: s.correction },
      withinBoundOfSystemClock: within(s),
      slewRemainingUs: o.clock.slewRemainingUs,
      ...(floor ? { restartFloor: floor } : {}),
      checks,
      exceeded,
    };
  };

  const event = (st: ClockStatus, actor: string, reason: string, withFloor = false): AuditEventInput => ({
    type: "clock.status",
    actor,
    reason,
    detail: {
      source: st.source,
      utcTraceability: st.utcTraceability,
      maxDivergenceUs: st.maxDivergenceUs,
      divergenceFromSystemClockUs: st.lastCheck.divergenceFromSystemClockUs,
      uncertaintyUs: st.lastCheck.uncertaintyUs,
      correction: st.lastCheck.correction,
      withinBoundOfSystemClock: st.withinBoundOfSystemClock,
      slewRemainingUs: st.slewRemainingUs,
      granularityUs: st.granularityUs,
      ...(withFloor && st.restartFloor ? { restartFloor: st.restartFloor } : {}),
    },
  });

  const afterCheck = (): ClockStatus => {
    checks++;
    const st = status();
    if (!st.withinBoundOfSystemClock) {
      exceeded++;
      o.record(event(st, "clock monitor", `divergence from the system clock ${st.lastCheck.divergenceFromSystemClockUs} µs (± ${st.lastCheck.uncertaintyUs}) exceeds the ${st.maxDivergenceUs} µs bound; ${st.lastCheck.correction === "slew" ? "slewing back" : "stepped forward"}`));
    } else if (!wasWithin) {
      o.record(event(st, "clock monitor", `back within the ${st.maxDivergenceUs} µs bound of the system clock`));
    }
    wasWithin = st.withinBoundOfSystemClock;
    o.onCheck?.(st);
    return st;
  };

  const checkNow = (): ClockStatus => {
    o.clock.check();
    return afterCheck();
  };

  /** A check whose sampling spins in the worker; undefined when the sample was stale (see MicroClock.apply). */
  const checkInWorker = async (): Promise<ClockStatus | undefined> => {
    const [sample, u] = await Promise.all([o.sampler!.sample(), traceability()]);
    utc = u;
    if (!o.clock.apply(sample)) return undefined;
    return afterCheck();
  };

  // At start: a fresh measurement (spinning once, before trading opens), recorded whatever it shows.
  o.clock.check();
  checks++;
  const first = status();
  wasWithin = first.withinBoundOfSystemClock;
  if (!first.withinBoundOfSystemClock) exceeded++;
  const floorText = floor ? `; restart floor: ${floor.from} at ${floor.at} is ${floor.aboveSystemClockUs} µs ahead of the system clock, so readings start above it and slew back at most ${o.clock.maxSlewPpm} ppm` : "";
  o.record(
    event(first, "gateway start", `business clock: ${first.source}; UTC traceability: ${first.utcTraceability}; maximum divergence from UTC committed to ${first.maxDivergenceUs} µs (the divergence recorded is from the system clock, not UTC)${floorText}`, true),
  );
  o.onCheck?.(first);

  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const done = o.sampler
      ? checkInWorker()
      : Promise.resolve().then(async () => {
          utc = await traceability();
          return checkNow();
        });
    done.catch((err: unknown) => o.onError?.(err)).finally(() => (running = false));
  }, o.checkEveryMs);
  timer.unref();
  return {
    status,
    checkNow,
    checkInWorker,
    stop: () => {
      clearInterval(timer);
      void o.sampler?.close();
    },
  };
}
