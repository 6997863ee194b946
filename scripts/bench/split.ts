/**
 * `npm run bench:split`: signed order placement through the scale-out split (one
 * SEN_ROLE=sequencer and two SEN_ROLE=edge processes on one redis-server) next to the same
 * gateway as one process (SEN_ROLE=all), in the same run, on this machine; then, from the
 * measured CPU per order of each process, the orders/s a 16-core box would give on paper.
 * Writes the "split" section of BENCHMARKS.md.
 *
 * Every server is the real entry point (api/src/main.ts) in its own process, on an in-process
 * Hardhat chain served over JSON-RPC (idle while measuring: deposits are credited before);
 * the load is autocannon (apiLoad.ts) in its own process, signing every request afresh, one
 * load process per edge. Per-order costs come from /proc: each process's CPU (user + system,
 * all threads) and its main thread's alone over the measured window, divided by the orders
 * acknowledged in that window.
 *
 * Environment (defaults in brackets): BENCH_SECONDS [10] measured after BENCH_WARMUP_SECONDS
 * [2], BENCH_CONNECTIONS [20] in all (split evenly over the edges), BENCH_REPEATS [3] (the four
 * layouts run in turn this many times; each layout's run with the median orders/s is shown),
 * BENCH_FEED_IN_FLIGHT [200] commands awaiting their reply at once in the "sequencer alone"
 * layout (splitSequencerFeed.ts), BENCH_LAYOUTS [file,redis,split,fed] (a subset prints the
 * section instead of writing it), BENCH_WRITE [1].
 */
import { hardhatAccount, startChain } from "../../api/test/support/chainFixture.ts";
import { startRedis, type RedisServer } from "../../api/test/support/redisServer.ts";
import { forkBenchChild } from "./apiChild.ts";
import type { LoadRequest, LoadResult, LoadTrader } from "./apiLoad.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";
import { feedSequencer } from "./splitSequencerFeed.ts";
import { BUYER, GATEWAY_NODE_FLAGS, OPERATOR, SELLER, SYMBOL, baseEnv, cleanup, prepare as prepareTraders, procCpu, type ProcCpu, redisCommandCalls, spawn, stopAll } from "./splitCluster.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const WRITE = process.env.BENCH_WRITE !== "0";
const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 3));
const FEED_IN_FLIGHT = Number(process.env.BENCH_FEED_IN_FLIGHT ?? 200);
const FED = "sequencer alone, fed decoded commands over Redis";
/** Which layouts run (quick looks at one; BENCHMARKS.md is written only when all four ran). */
const LAYOUTS = new Set((process.env.BENCH_LAYOUTS ?? "file,redis,split,fed").split(","));
const ALL_LAYOUTS = ["file", "redis", "split", "fed"].every((l) => LAYOUTS.has(l));
type Member = { name: string; pid: number };
type MemberCost = { name: string; cores: number; mainCores: number; usPerOrder: number; mainUsPerOrder: number };
type VariantResult = { name: string; runs?: number[]; reqPerSec: number; requests: number; p50: number; p99: number; notOk: number; errors: number; loadgenCores: number; members: MemberCost[]; redisCallsPerOrder?: Record<string, number> };

/** Runs one load process per target URL at once; measures every member's CPU over the measured window. */
let variantNo = 0;

/** The two traders as the load generator signs for them. */
async function prepare(url: string, readers: string[]): Promise<[LoadTrader, LoadTrader]> {
  return (await prepareTraders(url, readers)).map((c) => ({ apiKey: c.apiKey, apiSecret: c.apiSecret, passphrase: c.passphrase })) as [LoadTrader, LoadTrader];
}

async function measure(name: string, targets: string[], traders: [LoadTrader, LoadTrader], members: Member[], redisUrl?: string): Promise<VariantResult> {
  variantNo++;
  const loads = targets.map((_, i) => forkBenchChild(new URL("./apiLoad.ts", import.meta.url), `load ${i}`));
  const per = Math.max(1, Math.round(CONNECTIONS / targets.length));
  const started = loads.map((l) => l.next<{ type: "mark"; phase: string }>("mark", 60_000));
  loads.forEach((l, i) => {
    const req: LoadRequest = { type: "run", url: targets[i], path: "/api/v1/orders", symbol: SYMBOL, traders, connections: per, warmupSeconds: WARMUP_SECONDS, seconds: SECONDS, oidPrefix: `v${variantNo}l${i}t${Date.now().toString(36)}` };
    l.send(req);
  });
  await Promise.all(started);
  const callsBefore = redisUrl === undefined ? undefined : await redisCommandCalls(redisUrl);
  const before = members.map((m) => procCpu(m.pid));
  const t0 = performance.now();
  const ends = loads.map((l) => l.next<{ type: "mark"; phase: string }>("mark", (SECONDS + 60) * 1000));
  await Promise.all(ends);
  const wall = (performance.now() - t0) / 1000;
  const after = members.map((m) => procCpu(m.pid));
  const callsAfter = redisUrl === undefined ? undefined : await redisCommandCalls(redisUrl);
  const results = await Promise.all(loads.map((l) => l.next<LoadResult>("result", 60_000)));
  await Promise.all(loads.map((l) => l.stop()));
  const requests = results.reduce((s, r) => s + r.requests, 0);
  const redisCallsPerOrder = callsBefore && callsAfter ? callsPerOrder(callsBefore, callsAfter, requests) : undefined;
  for (const r of results) if (r.notOkSamples.length > 0) console.error(`${name}: responses other than 200000, e.g.\n  ${r.notOkSamples.join("\n  ")}`);
  const lat = results.map((r) => r.latencyMs);
  return {
    name,
    requests,
    reqPerSec: results.reduce((s, r) => s + r.reqPerSec, 0),
    // Per-load percentiles: the split's two loads are reported by the worse of the two.
    p50: Math.max(...lat.map((l) => l.p50)),
    p99: Math.max(...lat.map((l) => l.p99)),
    notOk: results.reduce((s, r) => s + r.notOk, 0),
    errors: results.reduce((s, r) => s + r.errors + r.timeouts, 0),
    loadgenCores: results.reduce((s, r) => s + r.loadgenCores, 0),
    redisCallsPerOrder,
    members: memberCosts(members, before, after, wall, requests),
  };
}

/** Redis commands per order over a window (INFO commandstats before and after), the rare ones left out. */
function callsPerOrder(before: Record<string, number>, after: Record<string, number>, orders: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cmd, n] of Object.entries(after)) {
    const per = (n - (before[cmd] ?? 0)) / orders;
    if (per >= 0.005) out[cmd] = per;
  }
  return out;
}

/** Each member's CPU over a window of `wallS` seconds, in cores and per order. */
function memberCosts(members: Member[], before: ProcCpu[], after: ProcCpu[], wallS: number, orders: number): MemberCost[] {
  return members.map((m, i) => {
    const cpu = after[i].total - before[i].total;
    const main = after[i].main - before[i].main;
    return { name: m.name, cores: cpu / wallS, mainCores: main / wallS, usPerOrder: (cpu * 1e6) / orders, mainUsPerOrder: (main * 1e6) / orders };
  });
}

/** The "sequencer alone" layout: commands from this process over the command bus; the sequencer's and Redis's CPU over the measured window. */
async function measureFed(redisUrl: string, seqPid: number, redisPid: number, traders: Parameters<typeof feedSequencer>[0]["traders"]): Promise<VariantResult> {
  const members: Member[] = [
    { name: "sequencer", pid: seqPid },
    { name: "redis-server", pid: redisPid },
  ];
  let before: ProcCpu[] = [];
  let after: ProcCpu[] = [];
  let callsBefore: Record<string, number> = {};
  let callsAfter: Record<string, number> = {};
  const r = await feedSequencer({
    redisUrl,
    traders,
    symbol: SYMBOL,
    inFlight: FEED_IN_FLIGHT,
    warmupSeconds: WARMUP_SECONDS,
    seconds: SECONDS,
    measuring: async (on) => {
      if (on) {
        callsBefore = await redisCommandCalls(redisUrl);
        before = members.map((m) => procCpu(m.pid));
      } else {
        after = members.map((m) => procCpu(m.pid));
        callsAfter = await redisCommandCalls(redisUrl);
      }
    },
  });
  if (r.errorSamples.length > 0) console.error(`${FED}: errors, e.g.\n  ${r.errorSamples.join("\n  ")}`);
  return {
    name: FED,
    requests: r.orders,
    reqPerSec: r.orders / r.wallS,
    p50: r.p50,
    p99: r.p99,
    notOk: r.errors,
    errors: 0,
    loadgenCores: r.driverCores,
    redisCallsPerOrder: callsPerOrder(callsBefore, callsAfter, r.orders),
    members: memberCosts(members, before, after, r.wallS, r.orders),
  };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const chain = await startChain({ serve: true });
  const identities = new Map<number, string>();
  for (const idx of [BUYER, SELLER, OPERATOR]) identities.set(idx, await chain.attest(hardhatAccount(idx).address, `bench-split-${idx}`));
  const runs: VariantResult[][] = [];
  const redisList: RedisServer[] = [];
  try {
    for (let rep = 0; rep < REPEATS; rep++) {
      const out: VariantResult[] = [];
      runs.push(out);
      // 1. One process, the embedded default (file journal, fsync always).
      if (LAYOUTS.has("file")) {
        const gw = await spawn(baseEnv(chain, "all-file", {}));
        const traders = await prepare(gw.url, [gw.url]);
        out.push(await measure("one process (SEN_ROLE=all), file journal", [gw.url], traders, [{ name: "gateway", pid: gw.child.pid! }]));
        await stopAll([gw]);
      }
      // 2. One process on the split's journal (Redis Stream, appendfsync always).
      if (LAYOUTS.has("redis")) {
        const redis = await startRedis();
        redisList.push(redis);
        const gw = await spawn(baseEnv(chain, "all-redis", { REDIS_URL: redis.url }));
        const traders = await prepare(gw.url, [gw.url]);
        out.push(await measure("one process (SEN_ROLE=all), Redis journal", [gw.url], traders, [{ name: "gateway", pid: gw.child.pid! }, { name: "redis-server", pid: redis.pid! }], redis.url));
        await stopAll([gw]);
        await redis.stop();
      }
      // 3. The split: sequencer + two edges on one redis-server.
      if (LAYOUTS.has("split")) {
        const redis = await startRedis();
        redisList.push(redis);
        const seq = await spawn(baseEnv(chain, "seq", { SEN_ROLE: "sequencer", REDIS_URL: redis.url }));
        const edges = await Promise.all(["edge-a", "edge-b"].map((n) => spawn(baseEnv(chain, n, { SEN_ROLE: "edge", REDIS_URL: redis.url }))));
        const traders = await prepare(edges[0].url, edges.map((e) => e.url));
        out.push(
          await measure(
            "split: sequencer + 2 edges",
            edges.map((e) => e.url),
            traders,
            [
              { name: "sequencer", pid: seq.child.pid! },
              { name: "edge A", pid: edges[0].child.pid! },
              { name: "edge B", pid: edges[1].child.pid! },
              { name: "redis-server", pid: redis.pid! },
            ],
            redis.url,
          ),
        );
        await stopAll([...edges, seq]);
        await redis.stop();
      }
      // 4. The sequencer alone on its Redis, fed decoded commands (an edge signs the traders in and credits them, then stops).
      if (LAYOUTS.has("fed")) {
        const redis = await startRedis();
        redisList.push(redis);
        const seq = await spawn(baseEnv(chain, "seq-fed", { SEN_ROLE: "sequencer", REDIS_URL: redis.url }));
        const edge = await spawn(baseEnv(chain, "edge-fed", { SEN_ROLE: "edge", REDIS_URL: redis.url }));
        const creds = await prepareTraders(edge.url, [edge.url]);
        await stopAll([edge]);
        out.push(await measureFed(redis.url, seq.child.pid!, redis.pid!, [
          { accountId: creds[0].accountId, identityHash: identities.get(BUYER)!, apiKeyId: creds[0].apiKey },
          { accountId: creds[1].accountId, identityHash: identities.get(SELLER)!, apiKeyId: creds[1].apiKey },
        ]));
        await stopAll([seq]);
        await redis.stop();
      }
    }
  } finally {
    cleanup();
    for (const r of redisList) if (r.pid !== undefined) await r.stop().catch(() => undefined);
    await chain.close();
  }
  // Per layout, the run with the median orders/s (its own latencies and CPU with it).
  const out = runs[0].map((_, i) => {
    const mine = runs.map((r) => r[i]).sort((a, b) => a.reqPerSec - b.reqPerSec);
    return { ...mine[Math.floor((mine.length - 1) / 2)], runs: runs.map((r) => r[i].reqPerSec) };
  });
  const text = render(out, (Date.now() - t0) / 1000);
  if (WRITE && ALL_LAYOUTS) writeBenchmarkSection("split", text);
  else console.log(text);
  console.log(text.split("\n").filter((l) => l.startsWith("|")).join("\n"));
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** Orders/s of a 16-core box from the split's measured per-order costs (see the section's text). */
function projection(split: VariantResult, fed: VariantResult | undefined, cores: number) {
  const m = (n: string) => split.members.find((x) => x.name === n)!;
  // The serial part's cost from the layout that loads it most (the split on 2 cores gives it only a few hundred orders/s).
  const seq = fed?.members.find((x) => x.name === "sequencer") ?? m("sequencer");
  const redis = m("redis-server");
  const edgeUs = (m("edge A").usPerOrder + m("edge B").usPerOrder) / 2;
  const seqThreadCap = 1e6 / seq.mainUsPerOrder;
  const redisCap = 1e6 / redis.usPerOrder;
  // The sequencer process's other threads (fsync, GC, audit index worker) and Redis take their share of cores at that rate.
  const seqCores = seq.usPerOrder / seq.mainUsPerOrder;
  const edgeCores = Math.max(0, cores - seqCores - 1 - 1); // one core for Redis, one for the OS and the rest
  const edgeCap = (edgeCores * 1e6) / edgeUs;
  return { seqThreadCap, seqMainUs: seq.mainUsPerOrder, redisCap, edgeCap, edgeUs, edgeCores, seqCores, total: Math.min(seqThreadCap, redisCap, edgeCap) };
}

function render(rows: VariantResult[], wallS: number): string {
  const base = rows[0];
  const lines = [
    "## Scale-out split: edges + sequencer vs one process (`npm run bench:split`)",
    "",
    machineLine(),
    "",
    `Method: every server is the real entry point (\`api/src/main.ts\`) in its own process, on an in-process Hardhat chain served over JSON-RPC (sign-in and e-ID checks; no chain services, so no settlement: traders are credited through the operator's deposit route, as bench:api credits in-process deposits), run with \`node ${GATEWAY_NODE_FLAGS.join(" ")}\` (as \`npm run start:gateway\`); the load is autocannon in its own process per target (\`apiLoad.ts\`: ${CONNECTIONS} connections in all, one request in flight each, every request signed afresh, limit orders of 1 lot alternating buy and sell on a 9,900 / 10,000 / 10,100 ladder on ${SYMBOL}, so the book both trades and rests), ${WARMUP_SECONDS} s warm-up then ${SECONDS} s measured; the four layouts run in turn ${REPEATS} times and each row is the layout's run with the median orders/s (all runs' orders/s in brackets; the split's varies most: five processes and the load share two cores). Pre-trade rate limits lifted through the operator route. Redis: a throw-away redis-server with \`appendonly yes\`, \`appendfsync always\` (the journal's durability). The split's two edges each get half the connections. CPU per order = a process's user + system CPU over the measured window (all threads; "main thread" = its event-loop thread alone, from \`/proc/<pid>/task/<pid>/stat\`) ÷ the orders acknowledged in the window. With 2 cores, every process and the load generators share them: the split cannot be faster than one process on this machine; what it measures is the cost of each part. The last layout, "${FED}", measures the serial part under load: a sequencer and its redis-server alone, fed placeOrder commands by this process through the edges' own command client (\`splitSequencerFeed.ts\`: the same decoded orders on the same ladder, ${FEED_IN_FLIGHT} awaiting their reply at once, no HTTP or signatures), so its rounds carry tens of orders as they would behind many edges; its latency is the command's round trip (sent → reply read), and "load generators' CPU" is this process's (it also serves the idle chain).`,
    "",
    "| Layout | orders/s | vs one process (file journal) | p50 ms | p99 ms | not 200000 / errors | load generators' CPU (cores) |",
    "|---|---:|---:|---:|---:|---|---:|",
    ...rows.map((r) => `| ${r.name} | ${int(r.reqPerSec)}${r.runs && r.runs.length > 1 ? ` (runs: ${r.runs.map(int).join(", ")})` : ""} | ${r.name === FED ? "— (no HTTP)" : `${f2(r.reqPerSec / base.reqPerSec)}×`} | ${f1(r.p50)} | ${f1(r.p99)} | ${r.notOk} / ${r.errors} | ${f2(r.loadgenCores)} |`),
    "",
    "| Layout | process | CPU (cores) | main thread (cores) | CPU µs / order | main thread µs / order |",
    "|---|---|---:|---:|---:|---:|",
    ...rows.flatMap((r) => r.members.map((m) => `| ${r.name} | ${m.name} | ${f2(m.cores)} | ${f2(m.mainCores)} | ${int(m.usPerOrder)} | ${int(m.mainUsPerOrder)} |`)),
  ];
  const withCalls = rows.filter((r) => r.redisCallsPerOrder !== undefined);
  if (withCalls.length > 0) {
    // Counts, not times: what each order asks of Redis (Lua scripts' inner calls included), steady whatever the machine's load.
    const cmds = [...new Set(withCalls.flatMap((r) => Object.keys(r.redisCallsPerOrder!)))].sort();
    lines.push(
      "",
      "Redis commands per order (INFO commandstats over the measured window ÷ orders; the journal's Lua batch script counts as `eval` plus the calls inside it):",
      "",
      `| Layout | ${cmds.join(" | ")} |`,
      `|---|${cmds.map(() => "---:").join("|")}|`,
      ...withCalls.map((r) => `| ${r.name} | ${cmds.map((c) => (r.redisCallsPerOrder![c] ?? 0).toFixed(2)).join(" | ")} |`),
    );
  }
  const split = rows.find((r) => r.name.startsWith("split"));
  const fed = rows.find((r) => r.name === FED);
  if (split) {
    const p = projection(split, fed, 16);
    const splitSeqUs = split.members.find((m) => m.name === "sequencer")!.mainUsPerOrder;
    lines.push(
      "",
      `On paper, a 16-core box from these per-order costs: the sequencer's event-loop thread is the one serial part, ${int(p.seqMainUs)} µs per order ${fed ? `when fed at ${int(fed.reqPerSec)} orders/s (the "sequencer alone" layout; ${int(splitSeqUs)} µs in the split layout, whose rounds carry one or two orders each)` : ""} → at most **${int(p.seqThreadCap)} orders/s**; its other threads (journal writes, GC, the audit index worker) bring the sequencer process to ${f2(p.seqCores)} cores at that rate; redis-server (single-threaded) at ${int(split.members.find((m) => m.name === "redis-server")!.usPerOrder)} µs per order caps at ${int(p.redisCap)} orders/s; the edges cost ${int(p.edgeUs)} µs per order each, so the ${f1(p.edgeCores)} cores left (one kept for Redis, one for the OS) carry ${int(p.edgeCap)} orders/s. The box would give about **${int(p.total)} orders/s**, bound by ${p.total === p.seqThreadCap ? "the sequencer thread" : p.total === p.redisCap ? "Redis" : "the edges"}. These costs were measured with every process sharing 2 cores with the load (context switches and cache misses included), so they are upper bounds.`,
    );
    const calls = (r: VariantResult) => Object.values(r.redisCallsPerOrder ?? {}).reduce((a, b) => a + b, 0);
    const fedRedis = fed?.members.find((m) => m.name === "redis-server");
    if (fed && fedRedis && calls(fed) > 0 && calls(split) > 0) {
      // Redis's cost per command falls with load as the sequencer's does: price the split's command mix at the loaded rate.
      const usPerCall = fedRedis.usPerOrder / calls(fed);
      const splitRedisUs = split.members.find((m) => m.name === "redis-server")!.usPerOrder;
      const loadedUs = usPerCall * calls(split);
      lines.push(
        "",
        `Redis's figure has the same bias as the split's sequencer figure: in the split it serves ${f2(calls(split))} commands per order at ${int(splitRedisUs / calls(split))} µs each, at the split's few hundred orders/s; under the "sequencer alone" load it spent ${int(usPerCall)} µs per command. Priced at that rate, the split's commands cost ${int(loadedUs)} µs per order, a cap of ${int(1e6 / loadedUs)} orders/s, and the box would give about **${int(Math.min(p.seqThreadCap, 1e6 / loadedUs, p.edgeCap))} orders/s** (an estimate from two measurements, not one).`,
      );
    }
  }
  lines.push("", `Total bench wall time: ${Math.round(wallS)} s.`);
  return lines.join("\n");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    cleanup();
    process.exit(1);
  },
);
