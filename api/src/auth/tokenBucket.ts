/**
 * Message-rate throttle: one token bucket per key, refilled continuously. Time is passed in
 * (ms) so tests and the gateway share one clock. Idle buckets are dropped to bound memory.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** Takes one token from `key`'s bucket; false when it is empty. */
  take(key: string, burst: number, perSecond: number, now: number): boolean {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size > 100_000) this.#prune(now, burst, perSecond);
      b = { tokens: burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * perSecond) / 1000);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  #prune(now: number, burst: number, perSecond: number): void {
    const full = (burst / Math.max(perSecond, 1e-9)) * 1000;
    for (const [k, b] of this.#buckets) if (now - b.at > full) this.#buckets.delete(k);
  }
}
