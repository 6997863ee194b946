/**
 * A Map kept in order of last touch, so that state idle for longer than a window is pruned
 * from the front in O(1) amortised per event (no scan over all keys).
 */
export class RecencyMap<K, V> {
  private readonly map = new Map<K, { value: V; last: bigint }>();

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  /** Returns the entry for `key` (created by `make` when absent) and marks it touched at `now`. */
  touch(key: K, now: bigint, make: () => V): V {
    const cur = this.map.get(key);
    if (cur) {
      this.map.delete(key);
      cur.last = now > cur.last ? now : cur.last;
      this.map.set(key, cur);
      return cur.value;
    }
    const value = make();
    this.map.set(key, { value, last: now });
    return value;
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  /** Drops entries last touched before `cutoff` (stops at the first fresh one). */
  prune(cutoff: bigint): void {
    for (const [k, v] of this.map) {
      if (v.last >= cutoff) return;
      this.map.delete(k);
    }
  }
}
