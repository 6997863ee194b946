import { parentPort } from "node:worker_threads";
import { sampleWall, SYSTEM_CLOCK_SOURCES } from "./microClock.ts";

// Spins here, not on the sequencer's thread, until Date.now ticks (clockSampler.ts).
parentPort!.on("message", (id: number) => {
  const s = sampleWall(SYSTEM_CLOCK_SOURCES);
  parentPort!.postMessage({ id, wallUs: s.wallUs, monoNs: s.monoNs, uncertaintyUs: s.uncertaintyUs });
});
