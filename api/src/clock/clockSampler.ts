import { Worker } from "node:worker_threads";
import type { WallSample } from "./microClock.ts";

/**
 * Samples the wall clock (sampleWall: spin until Date.now ticks, pair the tick with
 * process.hrtime) in a worker thread, so a periodic check costs the main thread a message
 * instead of up to a few milliseconds of spinning. The pairing is valid on the main thread:
 * CLOCK_MONOTONIC and the system clock are the process's, whichever thread reads them.
 * Only for the system clock: a clock with injected sources checks itself (MicroClock.check).
 */
export type ClockSampler = { sample(): Promise<WallSample>; close(): Promise<void> };

/** A sample not back within this long is given up (the worker is replaced). */
const SAMPLE_TIMEOUT_MS = 1_000;

export function startClockSampler(): ClockSampler {
  let worker: Worker | undefined;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (s: WallSample) => void; reject: (err: unknown) => void; timer: NodeJS.Timeout }>();
  const failAll = (err: unknown) => {
    for (const w of waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    waiting.clear();
  };
  const spawn = (): Worker => {
    const w = new Worker(new URL("./clockSamplerWorker.ts", import.meta.url));
    w.unref(); // never what keeps the process alive
    w.on("message", (m: WallSample & { id: number }) => {
      const p = waiting.get(m.id);
      if (!p) return;
      waiting.delete(m.id);
      clearTimeout(p.timer);
      p.resolve({ wallUs: m.wallUs, monoNs: m.monoNs, uncertaintyUs: m.uncertaintyUs });
    });
    w.on("error", (err) => {
      if (worker === w) worker = undefined;
      failAll(err);
    });
    w.on("exit", () => {
      if (worker === w) worker = undefined;
      failAll(new Error("clock sampler worker exited"));
    });
    return w;
  };
  let closed = false;
  return {
    sample() {
      if (closed) return Promise.reject(new Error("clock sampler closed"));
      worker ??= spawn();
      const w = worker;
      const id = nextId++;
      return new Promise<WallSample>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          if (worker === w) worker = undefined;
          void w.terminate();
          reject(new Error(`clock sample not back within ${SAMPLE_TIMEOUT_MS} ms`));
        }, SAMPLE_TIMEOUT_MS);
        timer.unref();
        waiting.set(id, { resolve, reject, timer });
        w.postMessage(id);
      });
    },
    async close() {
      closed = true;
      const w = worker;
      worker = undefined;
      failAll(new Error("clock sampler closed"));
      if (w) await w.terminate();
    },
  };
}
