/**
 * Sen's business clock: epoch microseconds (UTC) for every timestamp the exchange records, in
 * the trading journal and the audit log alike (docs/clock.md).
 *
 * It is the monotonic high-resolution clock (process.hrtime, CLOCK_MONOTONIC: frequency-
 * disciplined by NTP, never stepped) anchored to the wall clock (the system clock NTP/PTP keeps
 * on UTC). Guarantees:
 *
 * - every reading is strictly greater than the one before (never equal, never backwards),
 *   whatever the wall clock does;
 * - the wall clock stepping FORWARD is followed at once (a reading notices a wall clock more
 *   than `followForwardUs` ahead of it and jumps to it) and exactly at the next `check()`;
 * - the wall clock stepping BACK (or the clock ahead of it for any other reason) is never
 *   followed by a jump back: the clock slews, running slower by at most `maxSlewPpm` until it
 *   meets the wall clock again, as an NTP daemon slews the kernel's clock (chrony's default
 *   maximum slew rate, 83,333 ppm: a 1 ms excess is shed in 12 ms of real time, a 1 s step in
 *   12 s). Readings stay strictly increasing meanwhile, and `check()` reports the divergence.
 *
 * `check()` measures the divergence from the wall clock at microsecond precision although
 * Date.now has milliseconds: it waits (spinning, at most about a millisecond) for Date.now to
 * tick, and at that instant the wall clock is exactly the new millisecond; the monotonic clock
 * read around the tick places it to within the loop's iteration time (reported as the
 * measurement's uncertainty). The anchor at creation is taken the same way, so the first reading
 * is not up to a millisecond off as a plain Date.now anchor would be.
 *
 * Pure apart from its sources, which tests inject.
 */

export type ClockSources = {
  /** Monotonic nanoseconds (process.hrtime.bigint): never steps, arbitrary origin. */
  monoNs: () => bigint;
  /** The wall clock, milliseconds since the epoch (Date.now): what NTP keeps on UTC. */
  wallMs: () => number;
};

export type MicroClockOptions = {
  sources?: ClockSources;
  /** Fastest rate at which an excess over the wall clock is shed, parts per million. Default 83,333 (chrony's maxslewrate). */
  maxSlewPpm?: number;
  /** A wall clock this many µs or more ahead of a reading is followed at once. Default 1,000 (Date.now's own resolution). */
  followForwardUs?: number;
};

/** One comparison of the clock with the wall clock. */
export type DivergenceSample = {
  /** The clock's reading at the instant measured (epoch µs). */
  clockUs: bigint;
  /** The wall clock at that instant (epoch µs). */
  wallUs: bigint;
  /** clock − wall, µs, before the correction: positive when the clock is ahead. */
  divergenceUs: number;
  /** Half-width of the interval the wall clock's tick was located in, µs (1,000 when no tick was seen). */
  uncertaintyUs: number;
  /** What the check did: nothing (within the uncertainty), stepped the clock forward to the wall clock, or set it slewing back toward it (by what the uncertainty leaves certain). */
  correction: "none" | "stepForward" | "slew";
};

/** The wall clock at one instant of the monotonic clock (sampleWall). */
export type WallSample = { wallUs: bigint; monoNs: bigint; uncertaintyUs: number };

export interface MicroClock {
  /** Epoch microseconds, UTC; strictly greater than every earlier reading. */
  now(): bigint;
  /**
   * Measures the divergence from the wall clock and starts converging on it (forward: step;
   * back: slew). Samples the wall clock itself, spinning up to about a millisecond.
   */
  check(): DivergenceSample;
  /**
   * check() with a sample taken elsewhere (the sampler worker: clockSampler.ts), so this thread
   * does not spin; undefined when the clock was rebased after the sample was taken (a forward
   * step followed meanwhile): a stale sample, the next one will do.
   */
  apply(sample: WallSample): DivergenceSample | undefined;
  /**
   * Every later reading is greater than `us`. A clock below it is raised to `us` + 1 and then
   * slews back to the wall clock at the bounded rate, as after the wall clock stepped back:
   * readings keep advancing, never stall. Returns how far it was raised, µs (0: already above).
   * The restart floor: nothing is stamped before what the journal and audit log already hold.
   */
  notBefore(us: bigint): number;
  /** The last check (the anchoring at creation counts as one). */
  readonly lastCheck: DivergenceSample;
  /** Excess over the wall clock still to be shed by slewing, µs (0 when converged). */
  readonly slewRemainingUs: number;
  readonly maxSlewPpm: number;
}

export const SYSTEM_CLOCK_SOURCES: ClockSources = { monoNs: () => process.hrtime.bigint(), wallMs: () => Date.now() };

const PPM = 1_000_000n;
/** Give up waiting for Date.now to tick after this long (a stalled or stepped wall clock). */
const MAX_SPIN_NS = 3_000_000n;
/** A tick located this closely is not worth waiting for another. */
const GOOD_ENOUGH_US = 20;

/**
 * The wall clock at one instant of the monotonic clock, to about a microsecond: the instant
 * Date.now turns to the next millisecond. Up to three ticks are tried, keeping the best located
 * (a tick that is not a plain +1 ms means a step happened or the process was descheduled between
 * two reads); with no usable tick, the millisecond read, its midpoint and an uncertainty of 500 µs.
 */
export function sampleWall(src: ClockSources): WallSample {
  let best: WallSample | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const start = src.monoNs();
    const w0 = src.wallMs();
    // The previous read of the wall clock happened at or after `prevBefore`.
    let prevBefore = start;
    for (;;) {
      const before = src.monoNs();
      const w = src.wallMs();
      const after = src.monoNs();
      if (w !== w0) {
        // The tick lies between the previous read (≥ prevBefore) and this one (≤ after).
        // Rounded up to a tenth of a µs: conservative, and short in the audit record.
        const uncertaintyUs = Math.ceil(Number(after - prevBefore) / 200) / 10;
        if (w === w0 + 1 && uncertaintyUs < 500 && (!best || uncertaintyUs < best.uncertaintyUs)) {
          best = { wallUs: BigInt(w) * 1000n, monoNs: (prevBefore + after) / 2n, uncertaintyUs };
        }
        break;
      }
      if (after - start > MAX_SPIN_NS) break;
      prevBefore = before;
    }
    if (best && best.uncertaintyUs < GOOD_ENOUGH_US) return best;
  }
  if (best) return best;
  const m0 = src.monoNs();
  const w = src.wallMs();
  const m1 = src.monoNs();
  return { wallUs: BigInt(w) * 1000n + 500n, monoNs: (m0 + m1) / 2n, uncertaintyUs: 500 };
}

export function createMicroClock(options: MicroClockOptions = {}): MicroClock {
  const src = options.sources ?? SYSTEM_CLOCK_SOURCES;
  const maxSlewPpm = options.maxSlewPpm ?? 83_333;
  if (!Number.isInteger(maxSlewPpm) || maxSlewPpm <= 0 || maxSlewPpm >= 1_000_000) throw new RangeError("maxSlewPpm must be an integer in (0, 1,000,000): a slewing clock still has to move forward");
  const slewPpm = BigInt(maxSlewPpm);
  const followForwardUs = BigInt(options.followForwardUs ?? 1_000);

  // The clock between corrections: base + elapsed since baseMono − what has been shed of `debt`.
  const anchor = sampleWall(src);
  let baseMono = anchor.monoNs;
  let baseUs = anchor.wallUs;
  let debtUs = 0n;
  let last = 0n;
  let lastCheck: DivergenceSample = { clockUs: baseUs, wallUs: anchor.wallUs, divergenceUs: 0, uncertaintyUs: anchor.uncertaintyUs, correction: "none" };

  const valueAt = (mono: bigint): bigint => {
    const elapsed = (mono - baseMono) / 1000n;
    if (debtUs === 0n) return baseUs + elapsed;
    const shed = (elapsed * slewPpm) / PPM;
    return baseUs + elapsed - (shed < debtUs ? shed : debtUs);
  };
  /** Makes `mono` the new base, settling what was shed so far. */
  const rebase = (mono: bigint, value: bigint) => {
    const elapsed = (mono - baseMono) / 1000n;
    if (debtUs > 0n) {
      const shed = (elapsed * slewPpm) / PPM;
      debtUs = shed < debtUs ? debtUs - shed : 0n;
    }
    baseMono = mono;
    baseUs = value;
  };

  const apply = (s: WallSample): DivergenceSample | undefined => {
    if (s.monoNs < baseMono) return undefined;
    const clockUs = valueAt(s.monoNs);
    const d = clockUs - s.wallUs;
    rebase(s.monoNs, clockUs);
    let correction: DivergenceSample["correction"] = "none";
    // The true divergence lies within d ± u: corrected by what is certain (|d| − u), so a
    // coarse measurement never overshoots (a step forward never puts the clock ahead).
    const u = BigInt(Math.floor(s.uncertaintyUs));
    const abs = d < 0n ? -d : d;
    if (abs <= u) debtUs = 0n;
    else if (d < 0n) {
      debtUs = 0n;
      baseUs = clockUs + (abs - u);
      correction = "stepForward";
    } else {
      debtUs = abs - u;
      correction = "slew";
    }
    lastCheck = { clockUs, wallUs: s.wallUs, divergenceUs: Number(d), uncertaintyUs: s.uncertaintyUs, correction };
    return lastCheck;
  };

  return {
    now() {
      const mono = src.monoNs();
      let t = valueAt(mono);
      const wall = BigInt(src.wallMs()) * 1000n;
      // Date.now truncates: ahead by a whole millisecond or more means the wall clock moved on,
      // unless the process was paused between the two reads: compared again with the clock at
      // a monotonic reading taken after the wall clock's, the step is certain. The clock is set
      // to the wall clock at that later instant, so it is never put ahead of it.
      if (wall - t >= followForwardUs) {
        const after = src.monoNs();
        t = valueAt(after);
        if (wall - t >= followForwardUs) {
          debtUs = 0n;
          rebase(after, wall);
          t = wall;
        }
      }
      if (t <= last) t = last + 1n;
      last = t;
      return t;
    },
    check() {
      return apply(sampleWall(src))!;
    },
    apply,
    notBefore(us: bigint) {
      if (us > last) last = us;
      const mono = src.monoNs();
      const v = valueAt(mono);
      if (v > us) return 0;
      rebase(mono, v);
      const raise = us + 1n - v;
      baseUs = v + raise;
      debtUs += raise;
      return Number(raise);
    },
    get lastCheck() {
      return lastCheck;
    },
    get slewRemainingUs() {
      if (debtUs === 0n) return 0;
      const shed = ((src.monoNs() - baseMono) / 1000n) * slewPpm / PPM;
      return Number(shed < debtUs ? debtUs - shed : 0n);
    },
    maxSlewPpm,
  };
}
