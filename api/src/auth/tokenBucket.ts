/**
 * Token buckets per key, refilled continuously; the one implementation behind the gateway's
 * order-rate limits, its public rate limiter and the e-KYC issuer's sign-in limits. Time is
 * passed in (ms) so tests and the gateway share one clock.
 *
 * Memory is bounded without a scan: at most `maxKeys` buckets are remembered in each of two
 * generations, and when the current one fills the previous is forgotten whole (O(1)). A table
 * swept on the request path is a denial of service once an attacker holds enough keys (a /48
 * of IPv6 is 65,536 client keys): every new key paid a walk over all of them. A forgotten
 * caller starts again with a full bucket: at most one extra burst per generation, and only for
 * callers the table had no room to remember.
 */
export class TokenBuckets {
  #current = new Map<string, { tokens: number; at: number }>();
  #previous = new Map<string, { tokens: number; at: number }>();
  readonly #maxKeys: number;

  constructor(maxKeys = 100_000) {
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new RangeError("maxKeys must be a whole number, 1 or more");
    this.#maxKeys = maxKeys;
  }

  /** Takes one token from `key`'s bucket; false when it is empty. */
  take(key: string, burst: number, perSecond: number, now: number): boolean {
    return this.waitMs(key, burst, perSecond, now) === 0;
  }

  /** Takes one token from `key`'s bucket: 0 when granted, else the milliseconds until one is due (nothing is taken). */
  waitMs(key: string, burst: number, perSecond: number, now: number): number {
    let b = this.#current.get(key);
    if (b === undefined) {
      b = this.#previous.get(key) ?? { tokens: burst, at: now };
      this.#previous.delete(key);
      if (this.#current.size >= this.#maxKeys) {
        this.#previous = this.#current;
        this.#current = new Map();
      }
      this.#current.set(key, b);
    }
    // A clock step backwards refills nothing until the clock is past the last take again.
    if (now > b.at) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * perSecond) / 1000);
      b.at = now;
    }
    if (b.tokens < 1) return perSecond > 0 ? Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / perSecond)) : Number.POSITIVE_INFINITY;
    b.tokens -= 1;
    return 0;
  }
}
