/**
 * `npm run bench:sequencer`: the sequencer's CPU per order with journaling on, fed decoded
 * orders straight (no HTTP, no signature, no JSON): the real createContext (file journal,
 * snapshots, the audit trail and its trading recorder, market data, candles, metrics), as the
 * gateway wires it, without a chain; and, in a pass of its own, the heap each order placed holds
 * while retained. Writes the "sequencer" section of BENCHMARKS.md.
 *
 * Environment (defaults in brackets): BENCH_ORDERS [50000] measured per variant after
 * BENCH_WARMUP_ORDERS [10000], BENCH_IN_FLIGHT [20] orders awaiting their journal
 * acknowledgement at once (the HTTP bench's connections), BENCH_PROFILE_ORDERS [30000] (a
 * separate profiled pass with fsync always: a child under Linux perf where perf runs, see
 * perfCpuProfile.ts, else V8's sampler in this process; 0 skips it), BENCH_REPEAT [5] runs of each variant,
 * interleaved (the median is reported: this VM's speed drifts between runs, and a core probe
 * before each run shows by how much),
 * BENCH_WRITE [1] (0 prints the section instead of writing BENCHMARKS.md).
 */
import { execFileSync } from "node:child_process";
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import path from "node:path";
import type { IdentityOracle, Principal } from "../../api/src/auth/types.ts";
import { envToConfig } from "../../api/src/config/config.ts";
import { createContext, type AppContext } from "../../api/src/context.ts";
import { placeBody, placeInputOf } from "../../api/src/http/routes/orders.ts";
import { DEFAULT_RISK } from "../../api/src/risk/types.ts";
import type { PlaceInput } from "../../api/src/trading/tradingService.ts";
import { cpuMs, cpuSample } from "./apiChild.ts";
import { runQueueWaitMs } from "./apiThreads.ts";
import { profileCpu, type CpuBreakdown } from "./apiCpuProfile.ts";
import { perfBreakdown, perfRecordArgs, perfWorks } from "./perfCpuProfile.ts";
import { machineLine, nodeFlagsLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const ORDERS = Number(process.env.BENCH_ORDERS ?? 50_000);
const WARMUP_ORDERS = Number(process.env.BENCH_WARMUP_ORDERS ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 20);
const PROFILE_ORDERS = Number(process.env.BENCH_PROFILE_ORDERS ?? 30_000);
const WRITE = process.env.BENCH_WRITE !== "0";
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 5));

const SYMBOL = "GOLD-VND";
const UNLIMITED = 1_000_000_000;
const TARGET_US = 50;

type Trader = Principal;

/** Identity is checked at sign-in, never on the order path: an oracle that is never asked. */
const NO_SIGN_IN: IdentityOracle = {
  verifiedIdentityOf: () => Promise.reject(new Error("bench:sequencer: no sign-in here, the orders come decoded")),
};
/**
 * cpuMs: the whole process; threadMs: the main thread alone (the sequencer's one thread), NaN where /proc is missing; threadSysMs: its kernel part;
 * waitMs: the main thread's time runnable but off the CPU (schedstat); journal: its batches in the window (sen_journal_* gauges).
 */
type Run = {
  orders: number;
  cpuMs: number;
  threadMs: number;
  threadSysMs: number;
  waitMs: number;
  wallMs: number;
  records: number;
  journal: JournalWindow;
};
/** The journal's batches over a window: writes, records and bytes written, and their summed time until acknowledged. */
type JournalWindow = { writes: number; records: number; bytes: number; commitMs: number };

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time of the main thread in ms (Linux /proc; clock-tick resolution, 10 ms at 100 Hz,
 * fine over seconds). The process total also holds the libuv pool's writes and fdatasyncs,
 * V8's GC helpers and the audit index's SQLite worker, which run beside the sequencer.
 */
function mainThreadMs(): { total: number; sys: number } {
  const file = `/proc/self/task/${process.pid}/stat`;
  if (!existsSync(file)) return { total: Number.NaN, sys: Number.NaN };
  const stat = readFileSync(file, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { total: ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS, sys: (Number(f[12]) * 1000) / CLOCK_TICKS };
}
/**
 * captures: each synchronous state capture in the measured orders, ms; retained: orders and unsettled trades at the end;
 * writeAloneMs: the run's mean journal batch written alone in the same directory (diskProbe).
 */
type Variant = { name: string; fsync: "always" | "none"; run: Run; trades: number; resting: number; runs: number[]; captures: number[]; retained: number; writeAloneMs: number };

const PROBE_WRITES = 200;
/**
 * The median time of one write of `bytes` (O_DSYNC with fsync always, as the journal opens its
 * segment; a plain write otherwise), appended PROBE_WRITES times to a scratch file in `dir` with
 * nothing else running: what the device and the file system take, so the journal's own commit
 * time (the pool's round trip, the wait for a core) can be read against it.
 */
function diskProbe(dir: string, bytes: number, fsync: "always" | "none"): number {
  const file = path.join(dir, "disk-probe");
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (fsync === "always" && typeof constants.O_DSYNC === "number" ? constants.O_DSYNC : 0);
  const fd = openSync(file, flags, 0o644);
  const buf = Buffer.alloc(Math.max(1, Math.round(bytes)), 0x61);
  const ms: number[] = [];
  try {
    for (let i = 0; i < PROBE_WRITES; i++) {
      const t0 = performance.now();
      writeSync(fd, buf);
      ms.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  ms.sort((a, b) => a - b);
  return ms[ms.length >> 1];
}

/** The gateway's context, rate limits lifted as in bench:api, two funded traders. */
async function openSequencer(fsync: "always" | "none"): Promise<{ ctx: AppContext; traders: [Trader, Trader]; dir: string; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), "sen-bench-sequencer-"));
  const config = envToConfig({ SEN_PORT: "0", SEN_DATA_DIR: dir, SEN_LOG_LEVEL: "silent", SEN_JOURNAL_FSYNC: fsync });
  const risk = structuredClone(DEFAULT_RISK);
  risk.defaults.keyRate = { burst: UNLIMITED, perSecond: UNLIMITED };
  risk.defaults.accountRate = { burst: UNLIMITED, perSecond: UNLIMITED };
  risk.defaults.maxOpenOrders = UNLIMITED;
  const ctx = await createContext(config, {
    identity: NO_SIGN_IN,
    risk,
  });
  const trader = (i: number): Trader => {
    const wallet = `0x00000000000000000000000000000000000000c${i}` as const;
    return { accountId: wallet, wallet, identityHash: `0x${String(i).padStart(64, "0")}`, role: "trader", apiKeyId: `bench-key-${i}`, permissions: ["General", "Trade"] };
  };
  const traders: [Trader, Trader] = [trader(1), trader(2)];
  for (const [i, t] of traders.entries()) {
    await ctx.trading.deposit(t.accountId, "VND", 10n ** 15n, `bench-seq-vnd-${i}`);
    await ctx.trading.deposit(t.accountId, "GOLD", 10n ** 11n, `bench-seq-gold-${i}`);
  }
  return {
    ctx,
    traders,
    dir,
    async close() {
      ctx.clockMonitor.stop();
      try {
        await ctx.trading.close();
      } finally {
        ctx.candles.close();
        await ctx.audit.close();
        ctx.dataDirLock.release();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The decoded orders, made before the clock starts: the gateway's own placeInputOf over the
 * bench:api ladder (1 lot alternating buy/sell on 9,900 / 10,000 / 10,100, sells one step
 * ahead), so the book both trades and rests.
 */
function decodedOrders(ctx: AppContext, traders: [Trader, Trader], count: number, prefix: string): PlaceInput[] {
  const out: PlaceInput[] = [];
  for (let k = 0; k < count; k++) {
    const buy = k % 2 === 0;
    const pair = k >> 1;
    const price = 9_900 + 100 * ((buy ? pair : pair + 1) % 3);
    const body = placeBody.parse({ clientOid: `${prefix}${k}`, side: buy ? "buy" : "sell", symbol: SYMBOL, type: "limit", price: String(price), size: "1" });
    out.push(placeInputOf(ctx, body, traders[buy ? 0 : 1]));
  }
  return out;
}

/** The journal's counters now, as /metrics serves them (the sen_journal_* gauges). */
async function journalNow(ctx: AppContext): Promise<JournalWindow> {
  const m = ctx.metrics;
  const value = async (gauge: typeof m.journalWrites) => (await gauge.get()).values[0]?.value ?? 0;
  return { writes: await value(m.journalWrites), records: await value(m.journalRecords), bytes: await value(m.journalBytes), commitMs: (await value(m.journalCommitSeconds)) * 1000 };
}

/** Places every order, `IN_FLIGHT` awaiting their acknowledgement at once; CPU and wall time. */
async function feed(ctx: AppContext, orders: PlaceInput[]): Promise<Run> {
  const seq0 = ctx.trading.lastSeq;
  const journal0 = await journalNow(ctx);
  const wait0 = runQueueWaitMs(process.pid);
  const thread0 = mainThreadMs();
  const from = cpuSample();
  let next = 0;
  const worker = async () => {
    while (next < orders.length) {
      const o = orders[next++]!;
      await ctx.trading.placeOrder(o, { ip: "127.0.0.1", wallet: "0x00000000000000000000000000000000000000c1" });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const to = cpuSample();
  const thread1 = mainThreadMs();
  const wait1 = runQueueWaitMs(process.pid);
  const journal1 = await journalNow(ctx);
  return {
    orders: orders.length,
    cpuMs: cpuMs(from, to),
    threadMs: thread1.total - thread0.total,
    threadSysMs: thread1.sys - thread0.sys,
    waitMs: wait1 - wait0,
    wallMs: to.at - from.at,
    records: Number(ctx.trading.lastSeq - seq0),
    journal: {
      writes: journal1.writes - journal0.writes,
      records: journal1.records - journal0.records,
      bytes: journal1.bytes - journal0.bytes,
      commitMs: journal1.commitMs - journal0.commitMs,
    },
  };
}

/**
 * Times every synchronous state capture (`TradingCore.snapshot`, what the snapshot schedule
 * takes on the sequencer thread; the encoding and write after it yield) from now on.
 */
function timeCaptures(ctx: AppContext): number[] {
  const core = ctx.trading.core;
  const capture = core.snapshot.bind(core);
  const ms: number[] = [];
  core.snapshot = (opts) => {
    const t0 = performance.now();
    try {
      return capture(opts);
    } finally {
      ms.push(performance.now() - t0);
    }
  };
  return ms;
}

async function measure(fsync: "always" | "none"): Promise<Variant> {
  const s = await openSequencer(fsync);
  try {
    await feed(s.ctx, decodedOrders(s.ctx, s.traders, WARMUP_ORDERS, "w"));
    const captures = timeCaptures(s.ctx);
    const run = await feed(s.ctx, decodedOrders(s.ctx, s.traders, ORDERS, "m"));
    const trades = (await s.ctx.metrics.trades.get()).values.reduce((sum, v) => sum + v.value, 0);
    const resting = s.traders.reduce((sum, t) => sum + s.ctx.trading.core.openOrderIds(t.accountId).size, 0);
    await s.ctx.audit.flush(); // the index worker caught up: the probe's writes then have the machine to themselves
    const writeAloneMs = diskProbe(s.dir, run.journal.bytes / Math.max(1, run.journal.writes), fsync);
    return { name: `file journal, fsync ${fsync}`, fsync, run, trades, resting, runs: [], captures, retained: s.ctx.trading.retainedRecords, writeAloneMs };
  } finally {
    await s.close();
  }
}

/**
 * This VM's cores do not run at one speed: the same CPU-bound loop has taken 240 ms on one and
 * 400 ms on the other within a minute (a neighbour on the host), and which core the sequencer
 * thread gets is the scheduler's choice. So before each run the bench times a fixed loop in a
 * child pinned to each core (taskset) and prints it beside the run: a run's figure can then be
 * read against the machine it ran on. Null where taskset is missing.
 */
const PROBE = "function probe(){const t=process.cpuUsage();const a=new Float64Array(65536);let x=0;for(let r=0;r<3000;r++)for(let i=0;i<65536;i++){a[i]=a[i]*1.0000001+i;x+=a[(i*7)&65535];}const c=process.cpuUsage(t);return [(c.user+c.system)/1000,x>0];}console.log(probe().join(' '));";
function coreSpeeds(): number[] | null {
  try {
    const cores = Number(execFileSync("nproc", { encoding: "utf8" }).trim());
    return Array.from({ length: cores }, (_, c) => Number(execFileSync("taskset", ["-c", String(c), process.execPath, "-e", PROBE], { encoding: "utf8" }).split(" ")[0]));
  } catch {
    return null;
  }
}
const probes: Array<{ fsync: "always" | "none"; ms: number[] | null }> = [];
/** "182 / 178": a probe's ms per core. */
const probeText = (ms: number[] | null) => ms?.map((m) => m.toFixed(0)).join(" / ") ?? "-";

/** The run with the median sequencer-thread CPU per order; every run's figure kept for the table. */
function median(runs: Variant[]): Variant {
  const sorted = [...runs].sort((a, b) => a.run.threadMs / a.run.orders - b.run.threadMs / b.run.orders);
  return { ...sorted[(sorted.length - 1) >> 1], runs: runs.map((v) => (v.run.threadMs * 1000) / v.run.orders) };
}
/**
 * The profiled pass, as a child of its own under `perf record` (BENCH_SEQUENCER_PERF_CHILD=1):
 * warm-up, then PROFILE_ORDERS orders with fsync always; prints its main thread's id, the
 * measured window on CLOCK_MONOTONIC and the run, as one JSON line.
 */
if (process.env.BENCH_SEQUENCER_PERF_CHILD === "1") {
  const s = await openSequencer("always");
  try {
    await feed(s.ctx, decodedOrders(s.ctx, s.traders, WARMUP_ORDERS, "w"));
    const orders = decodedOrders(s.ctx, s.traders, PROFILE_ORDERS, "p");
    const from = Number(process.hrtime.bigint()) / 1e9;
    const run = await feed(s.ctx, orders);
    const to = Number(process.hrtime.bigint()) / 1e9;
    console.log(JSON.stringify({ tid: process.pid, from, to, run }));
  } finally {
    await s.close();
  }
  process.exit(0);
}

const alwaysRuns: Variant[] = [];
const noneRuns: Variant[] = [];
for (let r = 1; r <= REPEAT; r++) {
  probes.push({ fsync: "always", ms: coreSpeeds() });
  console.error(`bench:sequencer: fsync always (run ${r} of ${REPEAT}; core probe ${probeText(probes.at(-1)!.ms)} ms)`);
  alwaysRuns.push(await measure("always"));
  probes.push({ fsync: "none", ms: coreSpeeds() });
  console.error(`bench:sequencer: fsync none (run ${r} of ${REPEAT}; core probe ${probeText(probes.at(-1)!.ms)} ms)`);
  noneRuns.push(await measure("none"));
}
const always = median(alwaysRuns);
const none = median(noneRuns);

let profile: CpuBreakdown | null = null;
let profiled: Run | null = null;
/** "perf": CPU-time samples of the main thread (perfCpuProfile.ts); "inspector": V8's wall-time sampler, where perf cannot run. */
let profiler: "perf" | "inspector" = "inspector";
if (PROFILE_ORDERS > 0 && perfWorks()) {
  console.error("bench:sequencer: profiled pass (fsync always), a child under perf record");
  profiler = "perf";
  const dir = mkdtempSync(path.join(tmpdir(), "sen-bench-perf-"));
  try {
    const data = path.join(dir, "perf.data");
    // --perf-basic-prof names JIT code for perf; --interpreted-frames-native-stack names functions still in the interpreter.
    const child = [process.execPath, "--perf-basic-prof", "--interpreted-frames-native-stack", ...process.execArgv, new URL(import.meta.url).pathname];
    const out = execFileSync("perf", perfRecordArgs(data, child), { encoding: "utf8", env: { ...process.env, BENCH_SEQUENCER_PERF_CHILD: "1" }, stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
    const line = out.trim().split("\n").findLast((l) => l.startsWith("{"));
    if (!line) throw new Error(`bench:sequencer: the profiled child printed no result: ${out.slice(-500)}`);
    const r = JSON.parse(line) as { tid: number; from: number; to: number; run: Run };
    profiled = r.run;
    profile = perfBreakdown(data, r.tid, r.from, r.to);
    rmSync(`/tmp/perf-${r.tid}.map`, { force: true }); // the JIT map --perf-basic-prof wrote (V8 writes it to /tmp)
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else if (PROFILE_ORDERS > 0) {
  console.error("bench:sequencer: profiled pass (fsync always)");
  const s = await openSequencer("always");
  try {
    await feed(s.ctx, decodedOrders(s.ctx, s.traders, WARMUP_ORDERS, "w"));
    const orders = decodedOrders(s.ctx, s.traders, PROFILE_ORDERS, "p");
    profile = await profileCpu(async () => {
      profiled = await feed(s.ctx, orders);
    });
  } finally {
    await s.close();
  }
}
if (profile) {
  console.error("bench:sequencer: top self time (profiled pass):");
  for (const t of profile.top) console.error(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.where}  [${t.category}]`);
}

/**
 * Heap held per order placed: a separate pass, so the forced snapshots and collections do not
 * touch the timed runs. Each side of the measured orders is taken after a snapshot (which makes
 * every snapshot form and its text, as the schedule would) and full collections.
 */
type HeapPass = { orders: number; before: number; after: number; retained: number };
async function heapPass(): Promise<HeapPass> {
  v8.setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const used = () => {
    gc();
    gc();
    return v8.getHeapStatistics().used_heap_size;
  };
  const s = await openSequencer("always");
  try {
    await feed(s.ctx, decodedOrders(s.ctx, s.traders, WARMUP_ORDERS, "w"));
    await s.ctx.trading.snapshot();
    const before = used();
    await feed(s.ctx, decodedOrders(s.ctx, s.traders, ORDERS, "h"));
    await s.ctx.trading.snapshot();
    const after = used();
    return { orders: ORDERS, before, after, retained: s.ctx.trading.retainedRecords };
  } finally {
    await s.close();
  }
}
console.error("bench:sequencer: heap pass");
const heap = await heapPass();

// ------------------------------------------------------------------ report

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const usPerOrder = (r: Run) => (r.cpuMs * 1000) / r.orders;
const threadUsPerOrder = (r: Run) => (r.threadMs * 1000) / r.orders;
const us = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "—");
const verdict = (ok: boolean) => (ok ? "met" : "**missed**");
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const row = (v: Variant, target: string) =>
  `| ${v.name} | ${int(v.run.orders)} | ${int((v.run.orders * 1000) / v.run.wallMs)} | ${(v.run.cpuMs / v.run.wallMs).toFixed(2)} | ${us(threadUsPerOrder(v.run))}${v.runs.length > 1 ? ` (runs: ${v.runs.map(us).join(", ")})` : ""} | ${us((v.run.threadSysMs * 1000) / v.run.orders)} | ${usPerOrder(v.run).toFixed(1)} | ${(v.run.records / v.run.orders).toFixed(2)} | ${target} |`;

/** Captures over a variant's runs: how many, their median and longest, and the retained state they ended at. */
function captureLine(runs: Variant[]): string {
  const all = runs.flatMap((v) => v.captures).sort((a, b) => a - b);
  if (all.length === 0) return "none";
  const most = Math.max(...runs.map((v) => v.retained));
  return `${all.length} captures, median ${all[(all.length - 1) >> 1].toFixed(1)} ms, longest ${all[all.length - 1].toFixed(1)} ms (up to ${int(most)} retained orders and unsettled trades)`;
}

/** One variant's journal batches and the sequencer thread's waits, for waitLine. */
function waitText(v: Variant): string {
  const j = v.run.journal;
  if (j.writes === 0) return `${v.name}: no journal write measured`;
  const runnable = Number.isFinite(v.run.waitMs) ? `; the sequencer thread waited ${us((v.run.waitMs * 1000) / v.run.orders)} µs per order runnable but off the CPU, beside its ${us(threadUsPerOrder(v.run))} µs on it` : "";
  return `${v.name}: ${int(j.writes)} batches of ${(j.records / j.writes).toFixed(1)} records (${int(j.bytes / j.writes)} bytes), each ${(j.commitMs / j.writes).toFixed(2)} ms from its write starting until acknowledged, against ${v.writeAloneMs.toFixed(2)} ms for that write alone${runnable}`;
}

/**
 * Time that is not CPU: how long the median run's journal batches took against the same write
 * with nothing else running (the rest is the trip through libuv's pool and the waits for a core
 * of the pool's thread and of the main thread that takes the callback), and how long the
 * sequencer thread waited for a core (Linux schedstat), which the CPU figures leave out.
 */
function waitLine(): string {
  return `Time that is not CPU, in the rows' runs (journal: its sen_journal_* counters over the measured orders; "alone": the median of ${PROBE_WRITES} writes of the same size appended to a scratch file in the same directory after the run, once the audit trail had caught up, with nothing else running; waits: Linux schedstat): ${waitText(always)}; ${waitText(none)}. A batch's time beyond its write alone is the trip through libuv's pool: a pool thread woken to write, then the sequencer thread woken for the callback, each waiting for a core that the sequencer thread, the audit index's worker, V8's helpers and the pool's threads share.`;
}

/** The core probes beside each run's figure, and how far apart the cores' speeds were. */
function probeLines(): string[] {
  if (probes.some((p) => p.ms === null)) return [];
  const cell = (fsync: "always" | "none", runs: number[]) =>
    probes
      .filter((p) => p.fsync === fsync)
      .map((p, i) => `${us(runs[i])} (${probeText(p.ms)})`)
      .join(", ");
  const all = probes.flatMap((p) => p.ms!);
  const spread = Math.max(...all) / Math.min(...all) - 1;
  return [
    "",
    `Each run's sequencer-thread µs per order beside the core probe taken just before it (the same fixed CPU-bound loop in a child pinned to each core in turn, ms of CPU per core: the machine's speed at that moment, not during the run): fsync always ${cell("always", always.runs)}; fsync none ${cell("none", none.runs)}. Over the bench the same loop took ${Math.min(...all).toFixed(0)}–${Math.max(...all).toFixed(0)} ms, ${pct(spread)} apart${spread >= 0.1 ? ": the host moved a run's figure as much as a code change would, so an A/B of a smaller change needs many interleaved runs" : ": the cores held one speed at the probes"}.`,
  ];
}

const markdown = [
  "## Sequencer (`npm run bench:sequencer`)",
  "",
  machineLine(),
  "",
  "Method:",
  `- The gateway's own \`createContext\` (the same wiring as \`npm start\`, without a chain): file journal in a temporary directory, snapshots at the defaults (every 10,000 records, spaced by the state: at least as many records apart as the last snapshot wrote orders and unsettled trades; without a chain no trade settles, so the unsettled trades grow with the run), the audit trail with its trading recorder (every order received, accepted or rejected, every trade on record), market data, candles, metrics. Rate limits lifted as in bench:api; two accounts funded with in-process deposits.`,
  nodeFlagsLine(),
  `- Orders are fed decoded: \`PlaceInput\`s made beforehand by the gateway's own \`placeInputOf\` (no HTTP, no signature, no JSON), the bench:api ladder (1 lot on ${SYMBOL}, alternating buy and sell on 9,900 / 10,000 / 10,100, sells one step ahead), straight into \`TradingService.placeOrder\`, ${IN_FLIGHT} awaiting their journal acknowledgement at once (the HTTP bench's connections).`,
  `- Each variant: ${int(WARMUP_ORDERS)} orders of warm-up, then ${int(ORDERS)} measured, in a fresh context each time; ${REPEAT} runs of each, the variants interleaved, and the row shows the run with the median sequencer-thread CPU (every run's figure in brackets). Sequencer thread = the main thread's user + system time (Linux /proc, ${CLOCK_TICKS} Hz ticks) over the measured orders ÷ orders: the one thread that risk, ledger, engine, journal encoding and audit events run on, the figure the target is about. Process = every thread of the process (the libuv pool's journal writes and fdatasyncs, V8's GC helpers, the audit index's SQLite worker thread, which also makes the audit log's leaf hashes and runs 10 nice steps below the rest, all running beside it on other cores) ÷ orders.`,
  "",
  "| Journal | orders | orders/s | process CPU (cores) | sequencer thread CPU µs / order | of which in the kernel (sys) | process CPU µs / order | journal records / order | Target ≤ 50 µs (sequencer thread) |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---|",
  row(always, verdict(threadUsPerOrder(always.run) <= TARGET_US)),
  row(none, "(comparison)"),
  "",
  ...probeLines(),
  waitLine(),
  "",
  `The fsync-always run made ${int(always.trades)} trades with ${int(always.resting)} orders resting at the end (${int(none.trades)} and ${int(none.resting)} with fsync none), warm-up included.`,
  "",
  `Synchronous state captures (\`TradingCore.snapshot()\`, the part of a scheduled snapshot that holds the sequencer thread; encoding and writing yield), during the measured orders of every run: ${captureLine(alwaysRuns)} with fsync always, ${captureLine(noneRuns)} with fsync none. Finished orders', fills' and unsettled trades' snapshot forms are made ahead, up to 64 of each kind per record while more than 1,024 wait (\`TradingCore.formAhead\`), so a capture makes about 1,024 of each and otherwise copies references: its length follows the retained state only through those copies.`,
  "",
  `Heap held per order placed (separate pass, fsync always, after a snapshot and full collections on either side of ${int(heap.orders)} orders): ${int((heap.after - heap.before) / heap.orders)} B (V8 heap ${(heap.before / 2 ** 20).toFixed(1)} → ${(heap.after / 2 ** 20).toFixed(1)} MiB; ${int(heap.retained)} retained orders and unsettled trades at the end). It is every record the order leaves while retained: the order, its fills, its trades until settled (here none settle), their indexes, and the snapshot texts of the finished ones. The live records stay for \`SEN_ORDER_RETENTION_DAYS\` (7) after they finish, so this sizes the sequencer's heap: e.g. 1,000,000 orders a day retained 7 days need about ${((7_000_000 * (heap.after - heap.before)) / heap.orders / 2 ** 30).toFixed(1)} GiB of heap (\`--max-old-space-size\`), less where trades settle.`,
  "",
  ...(profile && profiled
    ? [
        profiler === "perf"
          ? `Where the microseconds go (Linux perf, cpu-clock samples of the main thread with call stacks, ~2 kHz, in a separate pass of ${int((profiled as Run).orders)} orders with fsync always, in a child process of its own, at ${us(threadUsPerOrder(profiled as Run))} µs of sequencer-thread CPU per order (${usPerOrder(profiled as Run).toFixed(1)} µs for the process); each sample charged to its nearest JavaScript frame, natives, builtins and system calls included, or to the garbage collector when a collection is on the stack first; share of the thread's CPU time and its µs per order):`
          : `Where the microseconds go (V8 sampling profiler on the main thread, separate pass of ${int((profiled as Run).orders)} orders with fsync always at ${us(threadUsPerOrder(profiled as Run))} µs of sequencer-thread CPU per order (${usPerOrder(profiled as Run).toFixed(1)} µs for the process); self time, natives charged to their JS caller; share of busy time and its µs per order, idle ${pct(profile!.idleShare)}):`,
        "",
        "| Code | Share | µs / order |",
        "|---|---:|---:|",
        ...(profile as CpuBreakdown).rows
          .filter((r) => r.share >= 0.01)
          .map((r) => `| ${r.category} | ${pct(r.share)} | ${us(r.share * threadUsPerOrder(profiled as Run))} |`),
        "",
        profiler === "perf"
          ? "The µs column spreads the profiled pass's sequencer-thread CPU per order over the shares. perf samples only while the thread runs, so time it waits (for a core, for the disk, for the pool's threads) is in no row. It sees the code that runs, so a function the optimiser inlined is charged to the one it was inlined into (in some runs the audit trail's append, encoding included, is inlined into the trading recorder's hook in api/src/context.ts and counted there). The worker threads (the audit index, V8's collector helpers, libuv's pool) are the process's CPU beyond the sequencer thread's. Where perf cannot run, the bench falls back to V8's own sampler, which charges such waits to the call that began them."
          : "The µs column spreads the profiled pass's sequencer-thread CPU per order over the shares. The profiler samples the main thread's wall time while it is not idle, so on a loaded machine a native call that wakes another thread (a file write or fdatasync handed to the libuv pool, a postMessage to the index worker) is also charged the time the main thread then waits for a core.",
      ]
    : []),
];

const text = markdown.join("\n");
console.log(text);
if (WRITE) writeBenchmarkSection("sequencer", text);
process.exit(0);
