/**
 * CPU time of one thread by code location, from Linux `perf` (software cpu-clock samples with
 * call stacks; JIT frames named through the child's `--perf-basic-prof` map).
 *
 * Why beside the V8 inspector's profiler (apiCpuProfile.ts): that one samples the main thread's
 * wall time while it is not idle, so a native call that wakes another thread (a write handed to
 * libuv's pool, a postMessage) is also charged the time the thread then waits for a core, which
 * on a loaded 2-core VM made file writes look like 15% of the sequencer. cpu-clock samples only
 * run on the CPU: each sample is CPU time the thread spent, charged (as the inspector's table
 * charges natives) to the nearest JavaScript frame, or to the garbage collector when a collection
 * is on the stack first.
 */
import { execFileSync } from "node:child_process";
import { categoryOf, type CpuBreakdown } from "./apiCpuProfile.ts";

/** True when `perf record` can sample this machine's software clock (the tool is there and allowed to). */
export function perfWorks(): boolean {
  try {
    execFileSync("perf", ["record", "-q", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** perf's sampling rate: each sample stands for 1/SAMPLES_PER_S s of the thread's CPU time. */
const SAMPLES_PER_S = 1999;

/** The command that runs `argv` under perf, sampling every thread's CPU time with call stacks into `file`. */
export function perfRecordArgs(file: string, argv: string[]): string[] {
  // CLOCK_MONOTONIC: the sample times compare with the child's process.hrtime (its measured window).
  return ["record", "-q", "-e", "cpu-clock", "-F", String(SAMPLES_PER_S), "-g", "-k", "CLOCK_MONOTONIC", "-o", file, "--", ...argv];
}

const GC = /v8::internal::(Scavenger|ScavengerCollector|MarkCompactCollector|MinorMarkSweep|Heap::(CollectGarbage|PerformGarbageCollection)|ConcurrentMarking|Sweeper|IncrementalMarking)/;
const JS_FRAME = /^JS:[*^~+]?(\S*) (\S+?)(?::\d+:\d+)?$/;

/**
 * The samples of thread `tid` between `fromS` and `toS` (seconds, CLOCK_MONOTONIC) in perf's
 * `file`, by category (apiCpuProfile's, so the two tables read alike) and by function.
 */
export function perfBreakdown(file: string, tid: number, fromS: number, toS: number): CpuBreakdown {
  const text = execFileSync("perf", ["script", "-i", file, "--tid", String(tid), "-F", "tid,time,ip,sym"], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
  const byCategory = new Map<string, number>();
  const byFrame = new Map<string, { category: string; n: number }>();
  let total = 0;
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n").filter((l) => l.trim() !== "");
    if (lines.length === 0) continue;
    const head = lines[0].trim().split(/\s+/);
    const at = Number.parseFloat((head[1] ?? "").replace(/:$/, ""));
    if (Number(head[0]) !== tid || !(at >= fromS && at <= toS)) continue;
    // Frames leaf first: "<ip> <symbol>"; the symbol may hold spaces (a JS frame's name and place).
    const frames = lines.slice(1).map((l) => l.trim().replace(/^[0-9a-f]+\s+/, ""));
    let category = "V8 / native, unattributed";
    let where = frames[0] ?? "?";
    for (const f of frames) {
      if (GC.test(f)) {
        category = "V8 garbage collector";
        where = "(garbage collector)";
        break;
      }
      const js = JS_FRAME.exec(f);
      if (js) {
        category = categoryOf(js[2]);
        where = `${js[1] || "(anonymous)"} ${js[2].replace(/^.*\/(node_modules|work\/main)\//, "").replace(/^file:\/\/\/?/, "")}`;
        break;
      }
      if (/epoll_wait|uv__io_poll|uv_run/.test(f)) {
        category = "Node event loop (epoll, libuv)";
        where = "(event loop)";
        break;
      }
    }
    total++;
    byCategory.set(category, (byCategory.get(category) ?? 0) + 1);
    const e = byFrame.get(where) ?? { category, n: 0 };
    e.n++;
    byFrame.set(where, e);
  }
  const rows = [...byCategory.entries()].map(([category, n]) => ({ category, share: total > 0 ? n / total : 0 })).sort((a, b) => b.share - a.share);
  const top = [...byFrame.entries()]
    .map(([where, e]) => ({ where, category: e.category, share: total > 0 ? e.n / total : 0 }))
    .sort((a, b) => b.share - a.share)
    .slice(0, 30);
  // cpu-clock samples only a running thread: there is no idle share to report.
  return { totalMs: (total * 1000) / SAMPLES_PER_S, idleShare: 0, rows, top };
}
