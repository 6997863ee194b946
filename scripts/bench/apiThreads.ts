import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time per thread of a process (Linux /proc), for bench:api's split of the server's CPU:
 * process.cpuUsage() sums every thread, and the V8 profiler samples the main thread only, so
 * without this the worker threads' share of a request shows in neither breakdown.
 */
export type ThreadGroup = "main" | "workers" | "v8" | "libuv" | "other";
export type ThreadTimes = Map<string, { group: ThreadGroup; ms: number }>;

export const THREAD_GROUPS: Record<ThreadGroup, string> = {
  main: "main thread",
  workers: "worker threads",
  v8: "V8 platform threads (GC helpers, compiler)",
  libuv: "libuv pool (file writes, fsync)",
  other: "other threads",
};

/** The thread ids a process has now: taken at start, before any Worker exists (see threadTimes). */
export function threadIds(pid: number): Set<string> {
  try {
    return new Set(readdirSync(`/proc/${pid}/task`));
  } catch {
    return new Set();
  }
}

/**
 * User + system CPU time of each thread of `pid`, in ms. Node names its V8 platform threads
 * and its Worker threads alike ("node"): those present in `startup` (the ids at a point before
 * any Worker was made) are the platform's, later ones Workers. Empty where /proc is missing.
 */
export function threadTimes(pid: number, startup: ReadonlySet<string> | null): ThreadTimes {
  const out: ThreadTimes = new Map();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  const tick = 1000 / 100; // USER_HZ: 100 on Linux
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // ended meanwhile
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ms = (Number(fields[11]) + Number(fields[12])) * tick;
    const group: ThreadGroup =
      tid === String(pid) ? "main" : name.startsWith("libuv-worker") ? "libuv" : name === "node" ? (startup === null || startup.has(tid) ? "v8" : "workers") : "other";
    out.set(tid, { group, ms });
  }
  return out;
}

/** CPU µs per request of each thread group between two samples (threads that ended in between are not counted). */
export function perRequestByGroup(from: ThreadTimes, to: ThreadTimes, requests: number): Record<ThreadGroup, number> {
  const us: Record<ThreadGroup, number> = { main: 0, workers: 0, v8: 0, libuv: 0, other: 0 };
  if (requests <= 0) return us;
  for (const [tid, t] of to) us[t.group] += ((t.ms - (from.get(tid)?.ms ?? 0)) * 1000) / requests;
  return us;
}

/**
 * How long thread `tid` of `pid` has waited runnable for a core, in ms (Linux schedstat: the
 * scheduler's own account, ns). CPU time says what a thread cost; this says what it lost to the
 * other threads and processes on the same cores. NaN where schedstat is missing.
 */
export function runQueueWaitMs(pid: number, tid: number = pid): number {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(" ");
    return Number(fields[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}
