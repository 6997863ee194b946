import { Counter, type Registry } from "prom-client";
import { ipLimitKey } from "./ipLimitKey.ts";
import type { RateBuckets } from "./rateBuckets.ts";

type Rate = { burst: number; perSecond: number };

/**
 * How many failed sign-ins reach the audit log. Anyone can fail a sign-in, with no key and no
 * e-ID, and the log keeps every line for ten years under anchored roots: unbounded, it is a
 * disk (and an audit trail) anyone can fill. Per client (an IPv6 client by its /64) a burst of
 * 10, then one every 6 s, is far more than a person mistyping; the total bound holds against
 * callers spread over many addresses. What is over either is counted (metric, one log a minute).
 */
export const LOGIN_FAILURE_RECORDS: { perClient: Rate; total: Rate } = {
  perClient: { burst: 10, perSecond: 1 / 6 },
  total: { burst: 200, perSecond: 2 },
};

const UNRECORDED_METRIC = "sen_auth_login_failures_unrecorded_total";
const SUMMARY_EVERY_MS = 60_000;

export type LoginFailureGate = {
  /** Whether this failure from `ip` is recorded now; false: it was counted instead. */
  admit(ip: string): Promise<boolean>;
};

export function createLoginFailureGate(deps: {
  /** The public routes' buckets: in Redis for a split, so the bound holds across edges. */
  buckets: RateBuckets;
  now: () => number;
  registry: Registry;
  warn: (fields: Record<string, unknown>, message: string) => void;
  limits?: typeof LOGIN_FAILURE_RECORDS;
}): LoginFailureGate {
  const { buckets, now, registry, warn, limits = LOGIN_FAILURE_RECORDS } = deps;
  // The routes are built more than once per process (the app, the lean router): one counter.
  const unrecorded =
    (registry.getSingleMetric(UNRECORDED_METRIC) as Counter | undefined) ??
    new Counter({ name: UNRECORDED_METRIC, help: "Failed sign-ins over the audit log's per-address or total bound: counted here, not recorded", registers: [registry] });
  let dropped = 0;
  let lastSummary = -Infinity;

  const take = async (key: string, r: Rate, t: number) => {
    try {
      return await buckets.take(key, r.burst, r.perSecond, t);
    } catch {
      // The shared store is down: so is the bus an edge records over; count rather than wait on it.
      return false;
    }
  };

  return {
    async admit(ip) {
      const t = now();
      if ((await take(`login-failed:${ipLimitKey(ip)}`, limits.perClient, t)) && (await take("login-failed:*", limits.total, t))) return true;
      unrecorded.inc();
      dropped++;
      if (t - lastSummary >= SUMMARY_EVERY_MS) {
        warn({ unrecorded: dropped, metric: UNRECORDED_METRIC }, "failed sign-ins over the audit log's bound: counted, not recorded");
        dropped = 0;
        lastSummary = t;
      }
      return false;
    },
  };
}
