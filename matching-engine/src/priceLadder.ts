/**
 * Sorted set of price keys for one side of a book, best key = largest key
 * (bids use key = price, asks key = -price). Keys live in sorted chunks of at
 * most CHUNK entries (a one-level B-tree / "sorted list of lists"):
 * insert/remove cost O(log n + CHUNK) whatever the price range, and the
 * common cases (at or near the touch, i.e. the end of the last chunk) are a
 * push/pop. Memory is O(number of levels), independent of the price span,
 * so a book spread over a million ticks (or 2^53) is fine.
 */
const CHUNK = 256;

/**
 * A new chunk holding `key`, a double array from the start. Keys arrive both as small integers
 * and as heap numbers (prices read from the order pool's Float64Array by unoptimized code), and
 * `[key]` would make a small-integer array that turns into a double array at the first heap
 * number: an elements-kind change that deoptimizes the code using the chunks and leaves their
 * loads seeing two array maps.
 */
function chunkOf(key: number): number[] {
  const c = [0.5];
  c[0] = key;
  return c;
}

export class PriceLadder {
  /** Built holding an array, then emptied: an empty `[]` is a small-integer array and would change kind at its first push. */
  chunks: number[][] = [chunkOf(0)];
  size = 0;

  constructor() {
    this.chunks.pop();
  }

  /** Largest key, or NaN when empty. */
  max(): number {
    const cs = this.chunks;
    if (cs.length === 0) return NaN;
    const c = cs[cs.length - 1];
    return c[c.length - 1];
  }

  insert(key: number): void {
    const cs = this.chunks;
    this.size++;
    const n = cs.length;
    if (n === 0) {
      cs.push(chunkOf(key));
      return;
    }
    const last = cs[n - 1];
    let ci: number;
    if (key > last[last.length - 1]) {
      last.push(key);
      ci = n - 1;
    } else {
      ci = this.chunkFor(key);
      const c = cs[ci];
      let lo = 0;
      let hi = c.length;
      while (lo < hi) {
        const m = (lo + hi) >>> 1;
        if (c[m] < key) lo = m + 1;
        else hi = m;
      }
      // in-place shift (splice would allocate its result array)
      c.push(key);
      for (let j = c.length - 1; j > lo; j--) c[j] = c[j - 1];
      c[lo] = key;
    }
    const c = cs[ci];
    if (c.length > CHUNK) cs.splice(ci + 1, 0, c.splice(CHUNK >>> 1));
  }

  remove(key: number): void {
    const cs = this.chunks;
    const n = cs.length;
    const last = cs[n - 1];
    this.size--;
    if (last[last.length - 1] === key) {
      last.pop();
      if (last.length === 0) cs.pop();
      return;
    }
    const ci = this.chunkFor(key);
    const c = cs[ci];
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (c[m] < key) lo = m + 1;
      else hi = m;
    }
    const last1 = c.length - 1;
    for (let j = lo; j < last1; j++) c[j] = c[j + 1];
    c.pop();
    if (c.length === 0) cs.splice(ci, 1);
  }

  /** Index of the first chunk whose last key is >= key (the last chunk if none). */
  private chunkFor(key: number): number {
    const cs = this.chunks;
    let lo = 0;
    let hi = cs.length - 1;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      const c = cs[m];
      if (c[c.length - 1] < key) lo = m + 1;
      else hi = m;
    }
    return lo;
  }

  /** Calls fn(key) from the largest key down until fn returns false. */
  forEachDesc(fn: (key: number) => boolean): void {
    const cs = this.chunks;
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      for (let j = c.length - 1; j >= 0; j--) if (!fn(c[j])) return;
    }
  }
}
