import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { percentiles, SampleBuffer, type Percentiles } from "./apiPercentiles.ts";

export type DatasyncProbe = {
  /** Position to measure from (the number of fdatasync calls so far). */
  mark(): number;
  /** Durations (ms) of the fdatasync calls completed between two marks. */
  between(from: number, to: number): Percentiles;
};

/**
 * Times every FileHandle.datasync() of this process: the file journal's one fdatasync per
 * group commit with fsync "always". Instrumentation only: the call itself is unchanged.
 */
export async function probeDatasync(): Promise<DatasyncProbe> {
  const dir = mkdtempSync(path.join(tmpdir(), "sen-bench-probe-"));
  const handle = await open(path.join(dir, "probe"), "w");
  const proto = Object.getPrototypeOf(handle) as { datasync(): Promise<void> };
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
  const durations = new SampleBuffer();
  const original = proto.datasync;
  proto.datasync = async function (this: unknown) {
    const t0 = performance.now();
    try {
      return await original.call(this);
    } finally {
      durations.push(performance.now() - t0);
    }
  };
  return {
    mark: () => durations.length,
    between: (from, to) => percentiles(durations.values.subarray(from, to)),
  };
}
