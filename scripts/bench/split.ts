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
 * [2], BENCH_CONNECTIONS [20] in all (split evenly over the edges), BENCH_REPEATS [3] (the three
 * layouts run in turn this many times; each layout's run with the median orders/s is shown),
 * BENCH_WRITE [1].
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { hardhatAccount, startChain, type ChainFixture } from "../../api/test/support/chainFixture.ts";
import { spawnExchange, type ExchangeProcess } from "../../api/test/support/exchangeProcess.ts";
import { loginAndCreateKey, type ApiCredentials } from "../../api/test/support/gatewayFixture.ts";
import { startRedis, type RedisServer } from "../../api/test/support/redisServer.ts";
import { until } from "../../api/test/support/until.ts";
import { forkBenchChild } from "./apiChild.ts";
import type { LoadRequest, LoadResult, LoadTrader } from "./apiLoad.ts";
import { machineLine, writeBenchmarkSection } from "./benchmarksFile.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const WRITE = process.env.BENCH_WRITE !== "0";
const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 3));
const SYMBOL = "GOLD-VND";
const SELLER = 15;
const BUYER = 13;
const OPERATOR = 14;
const TICK_HZ = 100; // /proc CPU times are in clock ticks (USER_HZ, 100 on Linux)

type ProcCpu = { total: number; main: number };

/** CPU seconds of a process (all threads) and of its main thread, from /proc. */
function procCpu(pid: number): ProcCpu {
  const ticks = (file: string) => {
    const s = readFileSync(file, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
  };
  return { total: ticks(`/proc/${pid}/stat`) / TICK_HZ, main: ticks(`/proc/${pid}/task/${pid}/stat`) / TICK_HZ };
}

type Member = { name: string; pid: number };
type MemberCost = { name: string; cores: number; mainCores: number; usPerOrder: number; mainUsPerOrder: number };
type VariantResult = { name: string; runs?: number[]; reqPerSec: number; requests: number; p50: number; p99: number; notOk: number; errors: number; loadgenCores: number; members: MemberCost[] };

const masterKey = randomBytes(32).toString("hex");
const dirs: string[] = [];
const children: ExchangeProcess[] = [];

function baseEnv(chain: ChainFixture, node: string, extra: Record<string, string>): Record<string, string> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `sen-bench-${node}-`));
  dirs.push(dataDir);
  return {
    SEN_NODE_ID: node,
    SEN_MASTER_KEY: masterKey,
    SEN_CHAIN_RPC: chain.rpcUrl!,
    SEN_DEPLOYMENT: chain.deploymentFile!,
    SEN_DATA_DIR: dataDir,
    SEN_CONFIRMATIONS: "0",
    SEN_CHAIN_POLL_MS: "1000",
    SEN_AUDIT_CHECKPOINT_MS: "3600000",
    SEN_LOG_LEVEL: "error",
    SEN_OPERATORS: hardhatAccount(OPERATOR).address.toLowerCase(),
    // The gateway's own flag (package.json start:gateway): a 32 MiB young generation.
    NODE_OPTIONS: "--max-semi-space-size=32",
    ...extra,
  };
}

async function spawn(env: Record<string, string>): Promise<ExchangeProcess> {
  const p = await spawnExchange(env);
  children.push(p);
  return p;
}

/** Signs the traders and the operator in through `url`, lifts the rate limits, waits for the deposits. */
async function prepare(url: string, readers: string[]): Promise<[LoadTrader, LoadTrader]> {
  const creds: ApiCredentials[] = [];
  for (const idx of [BUYER, SELLER]) creds.push(await loginAndCreateKey(url, hardhatAccount(idx)));
  const op = await loginAndCreateKey(url, hardhatAccount(OPERATOR));
  const huge = { burst: 1_000_000_000, perSecond: 1_000_000_000 };
  const res = await fetch(`${url}/api/v1/sen/operator/risk-limits`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${op.token}` },
    body: JSON.stringify({ scope: "defaults", reason: "benchmark load", limits: { keyRate: huge, accountRate: huge, maxOpenOrders: 1_000_000_000 } }),
  });
  if (!res.ok) throw new Error(`risk limits: ${res.status} ${await res.text()}`);
  // Credited by the operator route, as bench:api credits in-process deposits: no chain services
  // run, so the figures are the exchange's work per order, not settlement's.
  for (const c of creds) {
    for (const [currency, amount] of [["VND", "1000000000000"], ["GOLD", "10000000"]]) {
      const d = await fetch(`${url}/api/v1/sen/operator/deposits`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${op.token}` },
        body: JSON.stringify({ accountId: c.accountId, currency, amount, ref: `bench-${c.accountId}-${currency}` }),
      });
      if (!d.ok) throw new Error(`deposit: ${d.status} ${await d.text()}`);
    }
  }
  for (const reader of readers) {
    for (const c of creds) {
      await until("deposits credited", async () => {
        const r = await fetch(`${reader}/api/v1/accounts`, { headers: { authorization: `Bearer ${c.token}` } });
        const body = (await r.json()) as { data?: Array<{ currency: string; available: string }> };
        return (body.data ?? []).filter((b) => (b.currency === "VND" || b.currency === "GOLD") && Number(b.available) > 0).length === 2;
      }, 60_000);
    }
  }
  return creds.map((c) => ({ apiKey: c.apiKey, apiSecret: c.apiSecret, passphrase: c.passphrase })) as [LoadTrader, LoadTrader];
}

/** Runs one load process per target URL at once; measures every member's CPU over the measured window. */
let variantNo = 0;

async function measure(name: string, targets: string[], traders: [LoadTrader, LoadTrader], members: Member[]): Promise<VariantResult> {
  variantNo++;
  const loads = targets.map((_, i) => forkBenchChild(new URL("./apiLoad.ts", import.meta.url), `load ${i}`));
  const per = Math.max(1, Math.round(CONNECTIONS / targets.length));
  const started = loads.map((l) => l.next<{ type: "mark"; phase: string }>("mark", 60_000));
  loads.forEach((l, i) => {
    const req: LoadRequest = { type: "run", url: targets[i], path: "/api/v1/orders", symbol: SYMBOL, traders, connections: per, warmupSeconds: WARMUP_SECONDS, seconds: SECONDS, oidPrefix: `v${variantNo}l${i}t${Date.now().toString(36)}` };
    l.send(req);
  });
  await Promise.all(started);
  const before = members.map((m) => procCpu(m.pid));
  const t0 = performance.now();
  const ends = loads.map((l) => l.next<{ type: "mark"; phase: string }>("mark", (SECONDS + 60) * 1000));
  await Promise.all(ends);
  const wall = (performance.now() - t0) / 1000;
  const after = members.map((m) => procCpu(m.pid));
  const results = await Promise.all(loads.map((l) => l.next<LoadResult>("result", 60_000)));
  await Promise.all(loads.map((l) => l.stop()));
  const requests = results.reduce((s, r) => s + r.requests, 0);
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
    members: members.map((m, i) => {
      const cpu = after[i].total - before[i].total;
      const main = after[i].main - before[i].main;
      return { name: m.name, cores: cpu / wall, mainCores: main / wall, usPerOrder: (cpu * 1e6) / requests, mainUsPerOrder: (main * 1e6) / requests };
    }),
  };
}

async function stopAll(list: ExchangeProcess[]): Promise<void> {
  for (const p of list) await p.stop().catch(() => p.kill9());
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const chain = await startChain({ serve: true });
  for (const idx of [BUYER, SELLER, OPERATOR]) await chain.attest(hardhatAccount(idx).address, `bench-split-${idx}`);
  const runs: VariantResult[][] = [];
  const redisList: RedisServer[] = [];
  try {
    for (let rep = 0; rep < REPEATS; rep++) {
      const out: VariantResult[] = [];
      runs.push(out);
      // 1. One process, the embedded default (file journal, fsync always).
      {
        const gw = await spawn(baseEnv(chain, "all-file", {}));
        const traders = await prepare(gw.url, [gw.url]);
        out.push(await measure("one process (SEN_ROLE=all), file journal", [gw.url], traders, [{ name: "gateway", pid: gw.child.pid! }]));
        await stopAll([gw]);
      }
      // 2. One process on the split's journal (Redis Stream, appendfsync always).
      {
        const redis = await startRedis();
        redisList.push(redis);
        const gw = await spawn(baseEnv(chain, "all-redis", { REDIS_URL: redis.url }));
        const traders = await prepare(gw.url, [gw.url]);
        out.push(await measure("one process (SEN_ROLE=all), Redis journal", [gw.url], traders, [{ name: "gateway", pid: gw.child.pid! }, { name: "redis-server", pid: redis.pid! }]));
        await stopAll([gw]);
        await redis.stop();
      }
      // 3. The split: sequencer + two edges on one redis-server.
      {
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
          ),
        );
        await stopAll([...edges, seq]);
        await redis.stop();
      }
    }
  } finally {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
    for (const r of redisList) if (r.pid !== undefined) await r.stop().catch(() => undefined);
    await chain.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  // Per layout, the run with the median orders/s (its own latencies and CPU with it).
  const out = runs[0].map((_, i) => {
    const mine = runs.map((r) => r[i]).sort((a, b) => a.reqPerSec - b.reqPerSec);
    return { ...mine[Math.floor((mine.length - 1) / 2)], runs: runs.map((r) => r[i].reqPerSec) };
  });
  const text = render(out, (Date.now() - t0) / 1000);
  if (WRITE) writeBenchmarkSection("split", text);
  else console.log(text);
  console.log(text.split("\n").filter((l) => l.startsWith("|")).join("\n"));
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** Orders/s of a 16-core box from the split's measured per-order costs (see the section's text). */
function projection(split: VariantResult, cores: number) {
  const m = (n: string) => split.members.find((x) => x.name === n)!;
  const seq = m("sequencer");
  const redis = m("redis-server");
  const edgeUs = (m("edge A").usPerOrder + m("edge B").usPerOrder) / 2;
  const seqThreadCap = 1e6 / seq.mainUsPerOrder;
  const redisCap = 1e6 / redis.usPerOrder;
  // The sequencer process's other threads (fsync, GC, audit index worker) and Redis take their share of cores at that rate.
  const seqCores = seq.usPerOrder / seq.mainUsPerOrder;
  const edgeCores = Math.max(0, cores - seqCores - 1 - 1); // one core for Redis, one for the OS and the rest
  const edgeCap = (edgeCores * 1e6) / edgeUs;
  return { seqThreadCap, redisCap, edgeCap, edgeUs, edgeCores, seqCores, total: Math.min(seqThreadCap, redisCap, edgeCap) };
}

function render(rows: VariantResult[], wallS: number): string {
  const base = rows[0];
  const lines = [
    "## Scale-out split: edges + sequencer vs one process (`npm run bench:split`)",
    "",
    machineLine(),
    "",
    `Method: every server is the real entry point (\`api/src/main.ts\`) in its own process, on an in-process Hardhat chain served over JSON-RPC (sign-in and e-ID checks; no chain services, so no settlement: traders are credited through the operator's deposit route, as bench:api credits in-process deposits) with \`--max-semi-space-size=32\`; the load is autocannon in its own process per target (\`apiLoad.ts\`: ${CONNECTIONS} connections in all, one request in flight each, every request signed afresh, limit orders of 1 lot alternating buy and sell on a 9,900 / 10,000 / 10,100 ladder on ${SYMBOL}, so the book both trades and rests), ${WARMUP_SECONDS} s warm-up then ${SECONDS} s measured; the three layouts run in turn ${REPEATS} times and each row is the layout's run with the median orders/s (all runs' orders/s in brackets; the split's varies most: five processes and the load share two cores). Pre-trade rate limits lifted through the operator route. Redis: a throw-away redis-server with \`appendonly yes\`, \`appendfsync always\` (the journal's durability). The split's two edges each get half the connections. CPU per order = a process's user + system CPU over the measured window (all threads; "main thread" = its event-loop thread alone, from \`/proc/<pid>/task/<pid>/stat\`) ÷ the orders acknowledged in the window. With 2 cores, every process and the load generators share them: the split cannot be faster than one process on this machine; what it measures is the cost of each part.`,
    "",
    "| Layout | orders/s | vs one process (file journal) | p50 ms | p99 ms | not 200000 / errors | load generators' CPU (cores) |",
    "|---|---:|---:|---:|---:|---|---:|",
    ...rows.map((r) => `| ${r.name} | ${int(r.reqPerSec)}${r.runs && r.runs.length > 1 ? ` (runs: ${r.runs.map(int).join(", ")})` : ""} | ${f2(r.reqPerSec / base.reqPerSec)}× | ${f1(r.p50)} | ${f1(r.p99)} | ${r.notOk} / ${r.errors} | ${f2(r.loadgenCores)} |`),
    "",
    "| Layout | process | CPU (cores) | main thread (cores) | CPU µs / order | main thread µs / order |",
    "|---|---|---:|---:|---:|---:|",
    ...rows.flatMap((r) => r.members.map((m) => `| ${r.name} | ${m.name} | ${f2(m.cores)} | ${f2(m.mainCores)} | ${int(m.usPerOrder)} | ${int(m.mainUsPerOrder)} |`)),
  ];
  const split = rows.find((r) => r.name.startsWith("split"));
  if (split) {
    const p = projection(split, 16);
    lines.push(
      "",
      `On paper, a 16-core box from these per-order costs: the sequencer's event-loop thread is the one serial part, ${int(split.members.find((m) => m.name === "sequencer")!.mainUsPerOrder)} µs per order → at most **${int(p.seqThreadCap)} orders/s**; its other threads (journal writes, GC, the audit index worker) bring the sequencer process to ${f2(p.seqCores)} cores at that rate; redis-server (single-threaded) at ${int(split.members.find((m) => m.name === "redis-server")!.usPerOrder)} µs per order caps at ${int(p.redisCap)} orders/s; the edges cost ${int(p.edgeUs)} µs per order each, so the ${f1(p.edgeCores)} cores left (one kept for Redis, one for the OS) carry ${int(p.edgeCap)} orders/s. The box would give about **${int(p.total)} orders/s**, bound by ${p.total === p.seqThreadCap ? "the sequencer thread" : p.total === p.redisCap ? "Redis" : "the edges"}. These costs were measured with every process sharing 2 cores with the load (context switches and cache misses included), so they are upper bounds.`,
    );
  }
  lines.push("", `Total bench wall time: ${Math.round(wallS)} s.`);
  return lines.join("\n");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    for (const c of children) if (c.child.exitCode === null) c.child.kill("SIGKILL");
    process.exit(1);
  },
);
