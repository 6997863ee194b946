/**
 * Bounded in-memory tables for what anyone can make the issuer keep (sign-in challenges,
 * sessions; its per-address rate buckets are the gateway's TokenBuckets). Every operation is
 * amortised O(1): a table that is swept whole on each request lets a flood of cheap requests
 * stall the event loop.
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
