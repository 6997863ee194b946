/**
 * npm run bench:engine   (BENCH_COMMANDS=100000 for a quick run)
 *
 * Runs the seeded workload (scripts/bench/engineWorkload.ts) through Sen's
 * matching engine and through nodejs-order-book in the same process, checks
 * that both traded the same total quantity, and writes the "engine" section
 * of BENCHMARKS.md: throughput, per-command latency percentiles, the ratio,
 * depth / wide-price / 10-symbol variants, the replay tool end to end against a
 * JSON echo of the same file (main and many-owner workloads), and snapshot
 * capture at ~30k orders (engine alone, and the trading core's whole capture),
 * full vs incremental. Quick runs: BENCH_COMMANDS, BENCH_ONLY, BENCH_REPEAT,
 * BENCH_REPLAY=0, BENCH_SNAPSHOT_ORDERS, BENCH_WRITE=0.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OrderBook } from "nodejs-order-book";
import type { Command } from "../../matching-engine/src/command.ts";
import { MatchingEngine } from "../../matching-engine/src/engine.ts";
import { EventBuffer, EventKind } from "../../matching-engine/src/eventBuffer.ts";
import type { EngineEvent } from "../../matching-engine/src/events.ts";
import { defaultCatalog } from "../../api/src/markets/marketCatalog.ts";
import { TradingCore } from "../../api/src/trading/tradingCore.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";
import { generateWorkload, symbolName } from "./engineWorkload.ts";
import type { Workload, WorkloadOptions } from "./engineWorkload.ts";

const N = Number(process.env.BENCH_COMMANDS ?? 1_000_000);
const WRITE = process.env.BENCH_WRITE !== "0";

interface Runner {
  name: string;
  /**
   * Fresh engine; returns apply(command index), run(from, to) (the same in a
   * loop written out in each runner, so the timed loop's call site is
   * monomorphic and the JIT can inline the runner's apply into it) and the
   * traded-qty counter. Each runner's apply and run are made once and serve
   * every instance (make() points them at the new one): a timed instance with
   * closures of its own started them unoptimized, and per-100k-command CPU
   * time showed its first 100k commands costing 3-4x the rest for Sen (the
   * driving loop re-tiering, the JIT compiling inside the timed window),
   * about a fifth of a 1M-command Sen run and 1% of nodejs-order-book's.
   */
  make(cmds: Command[], nSym: number): Instance;
}

interface Instance {
  apply: (i: number) => void;
  run: (from: number, to: number) => void;
  traded: () => number;
}

const bookConfigs = (nSym: number) => Array.from({ length: nSym }, (_, i) => ({ symbol: symbolName(i) }));

/**
 * The Sen runners' sink: one function for the warm-up and the timed instance (as a gateway has one
 * sink for its life), summing into `tally`, which each new instance resets. A sink made per
 * instance was a new call target when the timed run began, so the engine code compiled (with the
 * sink inlined) during the warm-up deoptimized at the start of the timed run and was recompiled
 * inside it; nodejs-order-book gets no sink and had no such cost.
 */
const tally = { traded: 0 };
function tradeSink(e: Readonly<EngineEvent>): void {
  if (e.type === "trade") tally.traded += e.qty;
}
const tradedTally = () => tally.traded;

const sen: Runner = (() => {
  let engine = new MatchingEngine({ symbols: [] });
  let cmds: Command[] = [];
  const apply = (i: number) => void engine.apply(cmds[i], tradeSink);
  const run = (from: number, to: number) => {
    for (let i = from; i < to; i++) apply(i);
  };
  return {
    name: "Sen (string ids)",
    make(c, nSym) {
      engine = new MatchingEngine({ symbols: bookConfigs(nSym) });
      cmds = c;
      tally.traded = 0;
      return { apply, run, traded: tradedTally };
    },
  };
})();

/**
 * The same stream through the engine core: the commands are pre-decoded into
 * typed arrays (as a gateway would after its own parsing), owners interned once,
 * and a cancel names the index of the limit command whose handle it uses (the
 * caller keeps handles in an array instead of a Map).
 */
function decode(engine: MatchingEngine, cmds: Command[]) {
  const n = cmds.length;
  const d = {
    kind: new Uint8Array(n),
    book: new Int32Array(n),
    owner: new Int32Array(n),
    side: new Uint8Array(n),
    price: new Float64Array(n),
    qty: new Float64Array(n),
    target: new Int32Array(n),
    ids: new Array<string>(n),
    handles: new Int32Array(n).fill(-1),
  };
  const at = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const c = cmds[i];
    d.ids[i] = "id" in c ? c.id : "";
    if (c.type === "cancel") {
      d.kind[i] = 2;
      d.target[i] = at.get(c.id) ?? -1;
      continue;
    }
    if (c.type !== "limit" && c.type !== "market") throw new Error(`unexpected ${c.type}`);
    d.kind[i] = c.type === "limit" ? 0 : 1;
    d.book[i] = engine.bookIndex(c.symbol ?? symbolName(0));
    d.owner[i] = engine.ownerIndex(c.owner);
    d.side[i] = c.side === "buy" ? 0 : 1;
    d.price[i] = c.type === "limit" ? c.price : 0;
    d.qty[i] = c.qty as number;
    if (c.type === "limit") at.set(c.id, i);
  }
  return d;
}

/** Numeric core, events to a sink (reused event objects, one call per event). */
const senNumericSink: Runner = (() => {
  let engine = new MatchingEngine({ symbols: [] });
  let d = decode(engine, []);
  const apply = (i: number) => {
    const k = d.kind[i];
    if (k === 0) d.handles[i] = engine.placeLimit(d.book[i], d.owner[i], d.side[i], d.price[i], d.qty[i], 0, d.ids[i], tradeSink);
    else if (k === 1) engine.placeMarket(d.book[i], d.owner[i], d.side[i], d.qty[i], d.ids[i], tradeSink);
    else engine.cancelHandle(d.handles[d.target[i]], tradeSink);
  };
  const run = (from: number, to: number) => {
    for (let i = from; i < to; i++) apply(i);
  };
  return {
    name: "Sen (numeric handles, sink)",
    make(cmds, nSym) {
      engine = new MatchingEngine({ symbols: bookConfigs(nSym) });
      d = decode(engine, cmds);
      tally.traded = 0;
      return { apply, run, traded: tradedTally };
    },
  };
})();

/** Numeric core, events to an EventBuffer that the caller scans after every call (summing trade quantities). */
const senNumeric: Runner = (() => {
  let engine = new MatchingEngine({ symbols: [] });
  let d = decode(engine, []);
  const buf = new EventBuffer();
  const apply = (i: number) => {
    const k = d.kind[i];
    if (k === 0) d.handles[i] = engine.placeLimit(d.book[i], d.owner[i], d.side[i], d.price[i], d.qty[i], 0, d.ids[i], buf);
    else if (k === 1) engine.placeMarket(d.book[i], d.owner[i], d.side[i], d.qty[i], d.ids[i], buf);
    else engine.cancelHandle(d.handles[d.target[i]], buf);
    for (let j = 0; j < buf.count; j++) if (buf.kind[j] === EventKind.trade) tally.traded += buf.qty[j];
  };
  const run = (from: number, to: number) => {
    for (let i = from; i < to; i++) apply(i);
  };
  return {
    name: "Sen (numeric handles, event buffer)",
    make(cmds, nSym) {
      engine = new MatchingEngine({ symbols: bookConfigs(nSym) });
      d = decode(engine, cmds);
      tally.traded = 0;
      return { apply, run, traded: tradedTally };
    },
  };
})();

type NobSide = Parameters<OrderBook["limit"]>[0]["side"];
const nob: Runner = (() => {
  let books = new Map<string | undefined, OrderBook>();
  let where = new Map<string, OrderBook>();
  let cmds: Command[] = [];
  let multi = false;
  let traded = 0;
  const apply = (i: number) => {
    const c = cmds[i];
    if (c.type === "limit") {
      const ob = books.get(c.symbol) as OrderBook;
      const r = ob.limit({ id: c.id, side: c.side as NobSide, size: c.qty, price: c.price });
      traded += c.qty - r.quantityLeft;
      if (r.quantityLeft > 0 && multi) where.set(c.id, ob);
    } else if (c.type === "market") {
      const r = (books.get(c.symbol) as OrderBook).market({ side: c.side as NobSide, size: c.qty as number });
      traded += (c.qty as number) - r.quantityLeft;
    } else if (c.type === "cancel") {
      const ob = multi ? where.get(c.id) : (books.get(undefined) as OrderBook);
      ob?.cancel(c.id);
      if (multi) where.delete(c.id);
    }
  };
  const run = (from: number, to: number) => {
    for (let i = from; i < to; i++) apply(i);
  };
  return {
    name: "nodejs-order-book",
    make(c, nSym) {
      books = new Map();
      for (let i = 0; i < nSym; i++) books.set(nSym === 1 ? undefined : symbolName(i), new OrderBook());
      where = new Map();
      cmds = c;
      multi = nSym > 1;
      traded = 0;
      return { apply, run, traded: () => traded };
    },
  };
})();

interface Result {
  opsPerSec: number;
  traded: number;
  lat?: Record<string, { p50: number; p99: number; p999: number }>;
}

function throughput(r: Runner, cmds: Command[], nSym: number): Result {
  // warm-up on a fresh engine (first 20% of the stream), then a timed full run on another
  const warm = r.make(cmds, nSym);
  const wn = Math.min(cmds.length, Math.max(10_000, cmds.length / 5));
  warm.run(0, wn);
  const e = r.make(cmds, nSym);
  const t0 = performance.now();
  e.run(0, cmds.length);
  const ms = performance.now() - t0;
  return { opsPerSec: cmds.length / (ms / 1000), traded: e.traded() };
}

function pct(a: Float64Array, n: number, p: number): number {
  return a[Math.min(n - 1, Math.floor(n * p))];
}

/** Per-command latency: performance.now() around each apply (see timer overhead). */
function latency(r: Runner, cmds: Command[], nSym: number): Result["lat"] {
  const e = r.make(cmds, nSym);
  const kinds = ["limit", "cancel", "market"] as const;
  const buf = Object.fromEntries(kinds.map((k) => [k, new Float64Array(cmds.length)])) as Record<string, Float64Array>;
  const n: Record<string, number> = { limit: 0, cancel: 0, market: 0 };
  const all = new Float64Array(cmds.length);
  for (let i = 0; i < cmds.length; i++) {
    const c = cmds[i];
    const t0 = performance.now();
    e.apply(i);
    const dt = (performance.now() - t0) * 1e6;
    buf[c.type][n[c.type]++] = dt;
    all[i] = dt;
  }
  const out: Record<string, { p50: number; p99: number; p999: number }> = {};
  const summarise = (a: Float64Array, m: number) => {
    const s = a.subarray(0, m).sort();
    return { p50: pct(s, m, 0.5), p99: pct(s, m, 0.99), p999: pct(s, m, 0.999) };
  };
  for (const k of kinds) out[k] = summarise(buf[k], n[k]);
  out.all = summarise(all, cmds.length);
  return out;
}

function timerOverheadNs(): number {
  const a = new Float64Array(200_000);
  for (let i = 0; i < a.length; i++) {
    const t0 = performance.now();
    a[i] = (performance.now() - t0) * 1e6;
  }
  a.sort();
  return a[a.length >> 1];
}

/** Cost of the timed loop itself: run(0, n) over an apply that only reads the decoded command kind. */
function harnessNsPerCommand(n: number): number {
  const kind = new Uint8Array(n);
  let x = 0;
  const apply = (i: number) => {
    x += kind[i];
  };
  const run = (from: number, to: number) => {
    for (let i = from; i < to; i++) apply(i);
  };
  run(0, n);
  const t0 = performance.now();
  run(0, n);
  return x + ((performance.now() - t0) * 1e6) / n;
}

const fmtOps = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`);
const fmtNs = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)} µs` : `${Math.round(x)} ns`);

interface Variant {
  label: string;
  nSym: number;
  targetDepth: number;
  center: number;
  halfSpread: number;
  latency: boolean;
}

const variants: Variant[] = [
  { label: "main: 1 symbol, ~5k resting, ±50 ticks", nSym: 1, targetDepth: 5000, center: 10_000, halfSpread: 50, latency: true },
  { label: "depth ~1k", nSym: 1, targetDepth: 1000, center: 10_000, halfSpread: 50, latency: false },
  { label: "depth ~50k", nSym: 1, targetDepth: 50_000, center: 10_000, halfSpread: 50, latency: false },
  { label: "wide: prices over 1M ticks (600,000 ± 500,000)", nSym: 1, targetDepth: 5000, center: 600_000, halfSpread: 500_000, latency: false },
  { label: "10 symbols, ~5k resting each", nSym: 10, targetDepth: 5000, center: 10_000, halfSpread: 50, latency: false },
];

const runners = [sen, senNumericSink, senNumeric, nob];
const NOB = runners.length - 1;

/**
 * Each throughput measurement runs in a process of its own (this script with BENCH_CHILD set):
 * in one shared process the engines' code and heaps interfere (nodejs-order-book's garbage is
 * collected during a later Sen run; Sen's book code, shared by its three ways and the workload
 * generator, is compiled for every sink kind seen so far), so a result depended on what ran before.
 * The child generates the same stream itself (seeded, so identical; the parent checks the traded
 * totals agree): command objects made in that process, as in a single-process run (a stream
 * copied in through serialization measured slower, for reasons of the copy, not of the engines).
 */
if (process.env.BENCH_CHILD !== undefined) {
  const job = JSON.parse(process.env.BENCH_CHILD) as { workload: WorkloadOptions; runner: number };
  const cmds = generateWorkload(job.workload).commands;
  process.stdout.write(JSON.stringify(throughput(runners[job.runner], cmds, job.workload.symbols ?? 1)));
  process.exit(0);
}

function throughputInChild(workload: WorkloadOptions, runner: number): Result {
  const out = execFileSync(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname], {
    env: { ...process.env, BENCH_CHILD: JSON.stringify({ workload, runner }) },
    maxBuffer: 1 << 20,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out.toString()) as Result;
}

const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const started = performance.now();
const overhead = timerOverheadNs();
const harnessNs = harnessNsPerCommand(N);
let mainWorkload: Workload | null = null;
const rows: string[] = [];
let latencyBlock = "";
const genRows: string[] = [];
const ONLY = process.env.BENCH_ONLY?.split(",").map(Number); // quick runs: variant indices
const REPLAY = process.env.BENCH_REPLAY !== "0";
for (const v of variants.filter((_, i) => ONLY === undefined || ONLY.includes(i))) {
  const g0 = performance.now();
  const wlOptions: WorkloadOptions = { commands: N, symbols: v.nSym, targetDepth: v.targetDepth, center: v.center, halfSpread: v.halfSpread };
  const wl = generateWorkload(wlOptions);
  const genMs = performance.now() - g0;
  if (v === variants[0]) mainWorkload = wl;
  // interleaved repeats (Sen, Sen numeric, nodejs-order-book, Sen, ...) so machine noise hits all; medians reported
  const ops: number[][] = runners.map(() => []);
  const traded: number[] = runners.map(() => 0);
  for (let rep = 0; rep < REPEAT; rep++) {
    runners.forEach((_, k) => {
      const x = throughputInChild(wlOptions, k);
      ops[k].push(x.opsPerSec);
      traded[k] = x.traded;
    });
  }
  if (traded.some((t) => t !== traded[NOB])) {
    console.error(`traded quantity differs in "${v.label}": ${runners.map((r, k) => `${r.name} ${traded[k]}`).join(", ")}`);
    process.exit(1);
  }
  const med = ops.map(median);
  const b = med[NOB];
  const sens = med.slice(0, NOB);
  rows.push(`| ${v.label} | ${wl.meanDepth} | ${med.map(fmtOps).join(" | ")} | ${sens.map((a) => `**${(a / b).toFixed(1)}×**`).join(" | ")} | ${traded[0]} |`);
  genRows.push(`${v.label}: ${(genMs / 1000).toFixed(2)} s`);
  console.log(
    `${v.label}: ${runners.map((r, k) => `${r.name} ${fmtOps(med[k])}`).join(", ")} ops/s; ratios ${sens.map((a) => `${(a / b).toFixed(1)}x`).join(" / ")}; traded ${traded[0]} (equal); generator ${(genMs / 1000).toFixed(2)} s; runs: ${ops.map((xs) => xs.map(fmtOps).join(" ")).join(" | ")}`,
  );
  if (v.latency) {
    const ls = runners.map((r) => latency(r, wl.commands, v.nSym) ?? {});
    const lrows: string[] = [];
    for (const k of ["limit", "cancel", "market", "all"]) {
      lrows.push(`| ${k} | ${ls.map((l) => `${fmtNs(l[k].p50)} / ${fmtNs(l[k].p99)} / ${fmtNs(l[k].p999)}`).join(" | ")} |`);
    }
    latencyBlock = [
      `| command | ${runners.map((r) => `${r.name} p50 / p99 / p99.9`).join(" | ")} |`,
      `|---|${runners.map(() => "---|").join("")}`,
      ...lrows,
    ].join("\n");
    console.log(latencyBlock);
  }
}

// Replay tool end to end: JSON lines in, JSON lines out (to /dev/null), separate process, against
// a JSON.parse + JSON.stringify echo of the same file (scripts/bench/engineEcho.ts), interleaved.
const replayLines: string[] = [];
if (REPLAY && mainWorkload !== null) {
  const dir = mkdtempSync(join(tmpdir(), "sen-bench-"));
  try {
    const cli = new URL("../../matching-engine/src/cli/replay.ts", import.meta.url).pathname;
    const echo = new URL("./engineEcho.ts", import.meta.url).pathname;
    const timed = (script: string, file: string) => {
      const t0 = performance.now();
      execFileSync("bash", ["-c", `"${process.execPath}" "${script}" < "${file}" > /dev/null`], { stdio: "inherit" });
      return (performance.now() - t0) / 1000;
    };
    const inputs: [string, Command[]][] = [
      ["main workload (997 owners per side)", mainWorkload.commands],
      ["many-owner workload (every order its own owner and id)", generateWorkload({ commands: N, ownerPerOrder: true }).commands],
    ];
    // Each tool's start-up: the same process on the file's first line alone (Node, its TypeScript
    // stripping, the modules, one line), so the table can say how much of each run it is.
    const one = join(dir, "one.jsonl");
    for (const [label, cmds] of inputs) {
      const file = join(dir, "commands.jsonl");
      writeFileSync(file, cmds.map((c) => JSON.stringify(c)).join("\n") + "\n");
      writeFileSync(one, JSON.stringify(cmds[0]) + "\n");
      const rt: number[] = [];
      const et: number[] = [];
      const r1: number[] = [];
      const e1: number[] = [];
      for (let rep = 0; rep < REPEAT; rep++) {
        rt.push(timed(cli, file));
        et.push(timed(echo, file));
        r1.push(timed(cli, one));
        e1.push(timed(echo, one));
      }
      const r = median(rt);
      const e = median(et);
      const [rs, es] = [median(r1), median(e1)];
      const line = `| ${label} | ${fmtOps(N / r)} (${r.toFixed(2)} s; ${rt.map((t) => t.toFixed(2)).join(", ")}) | ${fmtOps(N / e)} (${e.toFixed(2)} s; ${et.map((t) => t.toFixed(2)).join(", ")}) | **${(e / r).toFixed(2)}×** | ${rs.toFixed(2)} / ${es.toFixed(2)} s | ${((e - es) / (r - rs)).toFixed(2)}× |`;
      replayLines.push(line);
      console.log(line);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Snapshot capture of a ~30k-order book: a full capture, then incremental ones after k more commands.
const SNAP_ORDERS = Number(process.env.BENCH_SNAPSHOT_ORDERS ?? 30_000);
const snapRows: string[] = [];
{
  const reps = Math.max(5, REPEAT * 3);
  const steps = [0, 100, 1_000, 10_000];
  // enough commands to build the book up to its depth, then every step's commands
  const warm = Math.max(160_000, SNAP_ORDERS * 6);
  const cmds = generateWorkload({ commands: warm + reps * steps.reduce((a, b) => a + b, 0), targetDepth: SNAP_ORDERS, seed: 7 }).commands;
  const e = new MatchingEngine({ symbols: [{ symbol: symbolName(0) }] });
  for (let i = 0; i < warm; i++) e.apply(cmds[i]);
  const cpuMs = (f: () => void) => {
    const t = process.cpuUsage();
    f();
    const d = process.cpuUsage(t);
    return (d.user + d.system) / 1000;
  };
  // warm the capture code both ways
  for (let i = 0; i < 3; i++) {
    e.snapshot({ full: true });
    e.snapshot();
  }
  const full = median(Array.from({ length: reps }, () => cpuMs(() => e.snapshot({ full: true }))));
  snapRows.push(`| full (every order copied, the previous behaviour) | ${e.liveOrders()} | ${e.liveOrders()} | ${full.toFixed(2)} ms |`);
  let at = warm;
  for (const k of steps) {
    const ms: number[] = [];
    let copied = 0;
    for (let r = 0; r < reps; r++) {
      e.snapshot();
      for (const to = at + k; at < to; at++) e.apply(cmds[at]);
      ms.push(cpuMs(() => e.snapshot()));
      copied = e.snapshotCost.copied;
    }
    snapRows.push(`| incremental, ${k.toLocaleString("en")} commands since the last capture | ${e.liveOrders()} | ${copied} | ${median(ms).toFixed(2)} ms |`);
  }
  console.log(snapRows.join("\n"));
}

// The gateway's whole synchronous capture (TradingCore.snapshot(): engine, ledger, retained orders
// and fills converted for saving) at ~30k retained orders, full vs incremental.
const coreRows: string[] = [];
{
  const core = new TradingCore({ catalog: defaultCatalog(), feeAccount: "fees", taxAccount: "tax" });
  core.apply({ t: "deposit", ts: 0, accountId: "s", currency: "GOLD", amount: "100000000000", ref: "d1" });
  core.apply({ t: "deposit", ts: 0, accountId: "b", currency: "VND", amount: "100000000000000000", ref: "d2" });
  let n = 0;
  const place = () => {
    const i = n++;
    const buy = i % 2 === 0;
    const side = buy ? ("buy" as const) : ("sell" as const);
    // nine prices around 10,000 (tick 100): about a fifth rests, the rest trades
    core.apply({ t: "place", ts: 1 + i, orderId: `o${i}`, accountId: buy ? "b" : "s", identityHash: buy ? "b" : "s", symbol: "GOLD-VND", side, type: "limit", price: 10_000 + (((i * 7) % 9) - 4) * 100, size: 1 + (i % 5), tif: "GTC", postOnly: false, stp: "CN", clientOid: `c${i}` });
  };
  while (n < SNAP_ORDERS) place();
  const first = core.snapshot();
  const fills = first.fills.reduce((a, [, f]) => a + f.length, 0);
  const resting = first.engine.books.reduce((a, b) => a + b.orders.length, 0);
  const cpuMs = (f: () => void) => {
    const t = process.cpuUsage();
    f();
    const d = process.cpuUsage(t);
    return (d.user + d.system) / 1000;
  };
  const reps = Math.max(5, REPEAT * 3);
  for (let i = 0; i < 3; i++) core.snapshot({ full: true });
  const full = median(Array.from({ length: reps }, () => cpuMs(() => core.snapshot({ full: true }))));
  coreRows.push(`| full (every order and fill converted, the previous behaviour) | ${full.toFixed(2)} ms |`);
  for (const k of [0, 100, 1_000]) {
    const ms: number[] = [];
    for (let r = 0; r < reps; r++) {
      core.snapshot();
      for (let j = 0; j < k; j++) place();
      ms.push(cpuMs(() => core.snapshot()));
    }
    coreRows.push(`| incremental, ${k.toLocaleString("en")} orders placed since the last capture | ${median(ms).toFixed(2)} ms |`);
  }
  coreRows.unshift(`${first.orders.length.toLocaleString("en")} retained orders (${resting.toLocaleString("en")} resting), ${fills.toLocaleString("en")} fills kept:`, "", "| capture | CPU per capture |", "|---|---|");
  console.log(coreRows.join("\n"));
}

const md = [
  "## Matching engine (`npm run bench:engine`)",
  "",
  machineLine(),
  "",
  `Workload: mulberry32(42), ${N.toLocaleString("en")} commands per variant: 70% limit (GTC), 20% cancel of a random resting order, 10% market; qty 1..100; the price offset adapts to depth to hold the target resting count (\`scripts/bench/engineWorkload.ts\`). The identical command stream goes through every engine; the run aborts unless all traded the same total quantity. nodejs-order-book ${"10.1.1"} runs through \`limit()\`/\`market()\`/\`cancel()\` with string ids. Sen runs three ways; each receives every event and sums the trade quantities from them:`,
  "",
  "- **string ids** — the gateway's edge API: `engine.apply(command, sink)` on the command objects (validation, client-id `Map` lookup, owner interning per command), events to a sink function (reused event objects);",
  "- **numeric handles, sink** — the engine core: `placeLimit(book, owner, side, price, qty, tif, id, sink)` / `placeMarket(...)` / `cancelHandle(handle, sink)` on commands pre-decoded into typed arrays, owners interned once, the caller keeping handles in an array (no `Map` on the path), events to the same kind of sink;",
  "- **numeric handles, event buffer** — the same calls with an `EventBuffer` instead of the sink: the engine writes each event as a record into typed arrays, and the caller scans the records after every call.",
  "",
  `Throughput: each engine is warmed up on a fresh instance with the first 20% of the stream, then timed (wall clock) over the whole stream on another fresh instance, in a process of its own (a child of the bench that generates the same seeded stream and runs only that engine: in one shared process the engines' heaps and compiled code interfered, each result depending on what ran before it); ${REPEAT} interleaved repeats (each Sen way, then nodejs-order-book, then again), median shown. The ratios divide medians from the same run. Each runner drives the stream with a loop of its own (\`run(from, to)\`), so the timed loop's call site is monomorphic; that loop alone (calling an apply that only reads the decoded command) costs ${fmtNs(harnessNs)} per command here. The workload generator is not timed with the engines (it runs Sen's engine untimed to track resting orders): ${genRows.join("; ")} for ${N.toLocaleString("en")} commands.`,
  "",
  "| variant | mean resting orders | Sen string ids ops/s | Sen numeric, sink ops/s | Sen numeric, event buffer ops/s | nodejs-order-book ops/s | ratio string ids | ratio numeric, sink | ratio numeric, buffer | traded qty (all equal) |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...rows,
  "",
  `Latency per command, main variant, one pass per engine: \`performance.now()\` read before and after every single command, so each figure includes one timer pair (median cost of an empty pair on this machine: ${fmtNs(overhead)}; **not subtracted**).`,
  "",
  latencyBlock,
  "",
  "Replay tool end to end against a plain JSON echo of the same file, each a separate process reading stdin and writing stdout to `/dev/null`, process start included, interleaved, median of " +
    `${REPEAT} (runs in brackets): \`node matching-engine/src/cli/replay.ts < commands.jsonl\` (match every command, one JSON line per event plus the final book) vs \`node scripts/bench/engineEcho.ts < commands.jsonl\` (\`JSON.stringify(JSON.parse(line))\` per line; the same reader, \`matching-engine/src/replay/readChunks.ts\`: synchronous 64 KB reads into one reused buffer, and 64 KB writes). ${N.toLocaleString("en")} lines each; the many-owner file is the main workload's generator with an owner of its own for every order (${N.toLocaleString("en")} distinct ids and about as many owners).`,
  "",
  "| input | replay commands/s | JSON echo lines/s | replay ÷ echo | start-up, replay / echo (one-line run) | replay ÷ echo, start-up taken out |",
  "|---|---|---|---|---|---|",
  ...replayLines,
  "",
  "Start-up is each tool's median run on the file's first line alone (Node, its type stripping of the tool's TypeScript modules, the modules' loading, one line); the last column divides the two runs' times with it taken out, the per-line work alone. The target compares the end-to-end runs.",
  "",
  `Snapshot capture (\`engine.snapshot()\`, the engine part of the gateway's synchronous state capture), one book of ~${SNAP_ORDERS.toLocaleString("en")} resting orders (the generator's depth target; mulberry32(7)), CPU time per capture, median of ${Math.max(5, REPEAT * 3)}: an order unchanged since the previous capture is handed out again (its changeable fields are stamped per slot), so a capture copies only new or changed orders and walks the book once.`,
  "",
  "| capture | live orders | order objects made | CPU per capture |",
  "|---|---|---|---|",
  ...snapRows,
  "",
  `The gateway's whole capture (\`TradingCore.snapshot()\`: engine, ledger, and the retained orders and fills converted for saving, bigints to strings), one market, limit orders alternating sides over nine prices so most trade, CPU time per capture, median of ${Math.max(5, REPEAT * 3)}. Incremental: a finished order (frozen when it ends), a fill its history has not marked, and an unsettled trade keep the form made at the first capture that saw them, handed out again without being visited one by one; only open orders are still compared field by field, so a capture costs about what the open orders and the records new since the last capture cost. `,
  ...coreRows,
  "",
  `Total bench wall time: ${((performance.now() - started) / 1000).toFixed(0)} s.`,
].join("\n");
if (WRITE) writeBenchmarkSection("engine", md);
else console.log(md);
