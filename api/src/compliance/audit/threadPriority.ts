import { getPriority, setPriority } from "node:os";

/**
 * Nice steps the audit index's worker thread runs below the rest of the process. The index and
 * the detectors it feeds are derived from the log and may lag it by a few batches; the journal's
 * writes (libuv's pool) and the sequencer thread may not. On a machine with fewer free cores than
 * busy threads the scheduler lets a waking journal write or acknowledgement wait for a core
 * while the index worker has it; with the worker niced, it yields that core at once (measured by
 * bench:sequencer's waits: the journal's batches and the sequencer thread's run-queue wait).
 * Idle cores are still all the worker's: lower priority only decides who waits when they are not.
 */
export const INDEX_WORKER_NICE_STEPS = 10;

/** The least favourable nice value (Linux and the BSDs). */
const NICE_MAX = 19;

/**
 * Lowers the calling thread's scheduling priority by `steps` nice steps, from whatever the
 * process was started with (never raising it), and returns the thread's nice value now, or
 * null where it is left alone. Linux only: there a nice value belongs to a thread and `pid` 0
 * names the calling one; elsewhere (macOS, Windows) it would lower the whole process.
 */
export function lowerThreadPriority(steps: number, platform: NodeJS.Platform = process.platform): number | null {
  if (platform !== "linux") return null;
  try {
    const now = getPriority(0);
    const target = Math.min(NICE_MAX, now + steps);
    if (target > now) setPriority(0, target);
    return getPriority(0);
  } catch {
    // A sandbox that refuses setpriority: the worker runs as before, at the process's priority.
    return null;
  }
}
