import { isIPv6 } from "node:net";

/**
 * Bounded in-memory tables for what anyone can make the issuer keep (sign-in challenges,
 * sessions, per-address rate buckets). Every operation is amortised O(1): a table that is
 * swept whole on each request lets a flood of cheap requests stall the event loop.
 */

/**
 * Entries that all live the same time, so insertion order is expiry order: expired and excess
 * entries are dropped from the head of a queue, never found by a scan. A Map alone is not
 * used as the queue because V8 leaves deleted entries as holes that every iteration from the
 * front walks again until the table is rebuilt.
 */
export class ExpiringTable<V extends { expiresAt: number }> {
  readonly #entries = new Map<string, V>();
  #queue: Array<{ key: string; value: V }> = [];
  #head = 0;
  readonly #max: number;
  readonly #onDrop: ((key: string, value: V) => void) | undefined;

  /** `onDrop` hears of every entry that leaves other than by `delete` (expired, or the oldest over `max`). */
  constructor(max: number, onDrop?: (key: string, value: V) => void) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError("max must be a whole number, 1 or more");
    this.#max = max;
    this.#onDrop = onDrop;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry while it lives; an expired one is dropped on sight. */
  get(key: string, now: number): V | undefined {
    const v = this.#entries.get(key);
    if (v === undefined) return undefined;
    if (v.expiresAt > now) return v;
    this.#drop(key, v);
    return undefined;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Adds an entry expiring no earlier than every entry before it; the oldest go first when full. */
  add(key: string, value: V, now: number): void {
    // Entries deleted or replaced stay queued until they reach the head; the queue is held to
    // twice the table so that they cannot pile up either.
    while (this.#head < this.#queue.length) {
      const { key: k, value: v } = this.#queue[this.#head]!;
      const live = this.#entries.get(k) === v;
      if (live && v.expiresAt > now && this.#entries.size < this.#max && this.#queue.length - this.#head < 2 * this.#max) break;
      this.#head++;
      if (live) this.#drop(k, v);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#entries.set(key, value);
    this.#queue.push({ key, value });
  }

  #drop(key: string, value: V): void {
    this.#entries.delete(key);
    this.#onDrop?.(key, value);
  }
}

export type RateLimit = { burst: number; perSecond: number };

/**
 * Token buckets per key. At most `maxKeys` are remembered in each of two generations: when the
 * current one fills, the previous is forgotten whole (O(1), no scan). A forgotten caller starts
 * again with a full bucket, which costs at most one burst per generation, and only to callers
 * the table had no room to remember.
 */
export class RateBuckets {
  #current = new Map<string, { tokens: number; at: number }>();
  #previous = new Map<string, { tokens: number; at: number }>();
  readonly #limit: RateLimit;
  readonly #maxKeys: number;

  constructor(limit: RateLimit, maxKeys = 100_000) {
    if (!(limit.burst >= 1) || !(limit.perSecond > 0)) throw new RangeError("a rate limit needs a burst of 1 or more and a positive refill");
    this.#limit = limit;
    this.#maxKeys = maxKeys;
  }

  /** Takes a token from `key`'s bucket: 0 when granted, else the milliseconds until one is due. */
  take(key: string, now: number): number {
    const { burst, perSecond } = this.#limit;
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
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) * perSecond) / 1000);
    b.at = now;
    if (b.tokens < 1) return Math.ceil(((1 - b.tokens) * 1000) / perSecond);
    b.tokens -= 1;
    return 0;
  }
}

/**
 * Whom a request's limit is counted against: an IPv4 address, or an IPv6 address's /64 (one
 * subscriber's network; a host there can take any of its 2^64 addresses).
 */
export function clientKey(address: string | undefined): string {
  if (!address) return "unknown";
  const v4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (v4) return v4[1]!;
  if (!isIPv6(address)) return address;
  const bare = address.split("%")[0]!;
  const [left, right = ""] = bare.split("::");
  const head = left ? left.split(":") : [];
  const tail = bare.includes("::") && right ? right.split(":") : [];
  // A dotted IPv4 tail ("::ffff:0:1.2.3.4") fills two groups.
  const width = (gs: string[]) => gs.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const groups = bare.includes("::") ? [...head, ...Array<string>(Math.max(0, 8 - width(head) - width(tail))).fill("0"), ...tail] : head;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
