/** p50 / p90 / p99 / max (and count) of a sample, exact (sorted copy), in the sample's unit. */
export type Percentiles = { count: number; p50: number; p90: number; p99: number; max: number; mean: number };

export function percentiles(values: ArrayLike<number>, count = values.length): Percentiles {
  if (count === 0) return { count: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = Float64Array.from({ length: count }, (_, i) => values[i]).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i];
  // Nearest-rank: the smallest value with at least q of the sample at or below it.
  const at = (q: number) => sorted[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))];
  return { count, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[count - 1], mean: sum / count };
}

/** An append-only Float64 buffer that doubles when full (millions of samples, no boxing). */
export class SampleBuffer {
  #data = new Float64Array(1 << 16);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  clear(): void {
    this.#length = 0;
  }

  get values(): Float64Array {
    return this.#data.subarray(0, this.#length);
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
