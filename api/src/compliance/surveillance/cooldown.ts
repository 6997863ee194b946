import type { AlertRule } from "./types.ts";
import { RecencyMap } from "./recencyMap.ts";

/**
 * De-duplication: once a (rule, pattern, identities, symbol) has been alerted, the same key is
 * not alerted again until `windowMicros` of event time have passed. Detectors ask before
 * building evidence, so a pattern that stays true raises one alert, not one per event.
 */
export class Cooldown {
  private readonly until = new RecencyMap<string, { until: bigint }>();
  private readonly windowMicros: bigint;

  constructor(windowMicros: bigint) {
    this.windowMicros = windowMicros;
  }

  static key(rule: AlertRule, pattern: string, identities: readonly string[], symbol: string | undefined): string {
    return `${rule}|${pattern}|${[...identities].sort().join(",")}|${symbol ?? ""}`;
  }

  isCooling(key: string, now: bigint): boolean {
    const u = this.until.get(key);
    return u !== undefined && now < u.until;
  }

  /** True (and starts the cool-down) when `key` is not cooling at `now`. */
  acquire(key: string, now: bigint): boolean {
    this.until.prune(now - this.windowMicros);
    if (this.isCooling(key, now)) return false;
    this.until.touch(key, now, () => ({ until: 0n })).until = now + this.windowMicros;
    return true;
  }
}
