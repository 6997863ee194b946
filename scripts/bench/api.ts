/**
 * `npm run bench:api`: signed KuCoin order placement over loopback HTTP against Sen's gateway,
 * next to a bare signed-Express baseline measured in the same run, and level2 websocket
 * fan-out to 1,000 subscribers. Writes the "api" section of BENCHMARKS.md.
 *
 * Process layout (2 cores: the server under test gets one, the load the other):
 * - this process: the in-process Hardhat chain (used only while traders sign in) and the real
 *   gateway (createContext + startGateway, file journal), one variant at a time;
 * - apiBaseline.ts: the bare Express baseline, its own process and port;
 * - apiLoad.ts: autocannon, its own process, signing every request afresh;
 * - apiWsClients.ts: the websocket subscribers, their own process.
 *
 * Environment (defaults in brackets): BENCH_SECONDS [10] per HTTP variant after
 * BENCH_WARMUP_SECONDS [2], BENCH_CONNECTIONS [20], BENCH_PROFILE_SECONDS [5] (a separate
 * profiled gateway pass; 0 skips it), BENCH_WS_CLIENTS [1000], BENCH_WS_SECONDS [10],
 * BENCH_WS_ORDERS_PER_S [200], BENCH_WS_CONFLATE_MS [10], BENCH_REPEAT [3] rounds of the three
 * HTTP variants, interleaved (each row is the variant's median round: this VM's speed drifts
 * by 10-30% between runs), BENCH_WRITE [1] (0 prints the section instead of writing BENCHMARKS.md).
 */
import { statfsSync } from "node:fs";
import hre from "hardhat";
import { DEFAULT_RISK } from "../../api/src/risk/types.ts";
import { hardhatAccount, startChain, type ChainFixture } from "../../api/test/support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type GatewayFixture } from "../../api/test/support/gatewayFixture.ts";
import { machineLine, nodeFlagsLine, writeBenchmarkSection } from "./benchmarksFile.ts";
import { coreShare, cpuSample, forkBenchChild, type CpuSample } from "./apiChild.ts";
import { profileCpu, type CpuBreakdown } from "./apiCpuProfile.ts";
import type { LoadRequest, LoadResult, LoadTrader } from "./apiLoad.ts";
import { measureWsFanout, type WsFanoutResult } from "./apiWsFanout.ts";
import { perRequestByGroup, runQueueWaitMs, THREAD_GROUPS, threadIds, threadTimes, type ThreadGroup, type ThreadTimes } from "./apiThreads.ts";

// Before any gateway starts a Worker: the "node" threads now are V8's platform threads (apiThreads.ts).
const startupThreads = threadIds(process.pid);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const PROFILE_SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 5);
const WS_CLIENTS = Number(process.env.BENCH_WS_CLIENTS ?? 1000);
const WS_SECONDS = Number(process.env.BENCH_WS_SECONDS ?? 10);
const WS_ORDERS_PER_S = Number(process.env.BENCH_WS_ORDERS_PER_S ?? 200);
const WS_CONFLATE_MS = process.env.BENCH_WS_CONFLATE_MS ?? "10";
const WRITE = process.env.BENCH_WRITE !== "0";
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));

const SYMBOL = "GOLD-VND";
const ORDER_PATH = "/api/v1/orders";
const UNLIMITED = 1_000_000_000;
const TARGET_RATIO = 0.8;
const TARGET_WS_P99_MS = 25;

type Variant = {
  name: string;
  load: LoadResult;
  serverCores: number;
  /** Server CPU µs per request in the measured window, by thread group (apiThreads.ts). */
  threadsUs: Record<ThreadGroup, number>;
  /** The main thread's time runnable but off the CPU, µs per request (Linux schedstat; NaN where missing). */
  mainWaitUs: number;
  /** Gateway only: the journal's records, writes and syncs in the measured window (its sen_journal_* gauges). */
  journal?: JournalCounts;
};
/** Trades since the gateway started (warm-up included) and orders resting at the end. */
type GatewayStats = { trades: number; resting: number };

// ------------------------------------------------------------------ load runs

/** commitMs: the batches' summed time from write start until acknowledged (sen_journal_commit_seconds). */
type JournalCounts = { records: number; writes: number; syncs: number; commitMs: number };
/** What the orchestrator reads from the server at the start and end of the measured window (waitMs: its main thread's time runnable off the CPU). */
type ServerMark = { cpu: CpuSample; threads: ThreadTimes; waitMs: number; journal?: JournalCounts };

/** Runs the load generator against `url`; marks the server at both ends of the measured window. */
async function runLoad(url: string, traders: [LoadTrader, LoadTrader], oidPrefix: string, mark: () => Promise<ServerMark>, seconds = SECONDS, warmupSeconds = WARMUP_SECONDS) {
  const load = forkBenchChild(new URL("./apiLoad.ts", import.meta.url), "load generator");
  try {
    load.send({ type: "run", url, path: ORDER_PATH, symbol: SYMBOL, traders, connections: CONNECTIONS, warmupSeconds, seconds, oidPrefix } satisfies LoadRequest);
    await load.next("mark");
    const from = await mark();
    await load.next("mark");
    const to = await mark();
    const result = await load.next<LoadResult>("result");
    return { load: result, from, to };
  } finally {
    await load.stop();
  }
}

async function measureBaseline(): Promise<Variant> {
  const server = forkBenchChild(new URL("./apiBaseline.ts", import.meta.url), "baseline server");
  try {
    const ready = await server.next<{ type: "ready"; url: string; traders: [LoadTrader, LoadTrader] }>("ready");
    const mark = async (): Promise<ServerMark> => {
      server.send({ type: "cpu" });
      const cpu = (await server.next<{ type: "cpu"; sample: CpuSample }>("cpu")).sample;
      // The baseline starts no Worker: every "node" thread besides its main one is V8's.
      return { cpu, threads: threadTimes(server.child.pid!, null), waitMs: runQueueWaitMs(server.child.pid!) };
    };
    const { load, from, to } = await runLoad(ready.url, ready.traders, "b", mark);
    return {
      name: "Bare Express baseline (signature + zod only)",
      load,
      serverCores: coreShare(from.cpu, to.cpu),
      threadsUs: perRequestByGroup(from.threads, to.threads, load.requests),
      mainWaitUs: ((to.waitMs - from.waitMs) * 1000) / load.requests,
    };
  } finally {
    await server.stop();
  }
}

type BenchGateway = { gw: GatewayFixture; traders: [LoadTrader, LoadTrader]; accounts: [{ accountId: string; identityHash: string }, { accountId: string; identityHash: string }] };

/** The real gateway with rate limits lifted, two signed-in traders and large deposits. */
async function startBenchGateway(chain: ChainFixture, fsync: "always" | "none"): Promise<BenchGateway> {
  const risk = structuredClone(DEFAULT_RISK);
  risk.defaults.keyRate = { burst: UNLIMITED, perSecond: UNLIMITED };
  risk.defaults.accountRate = { burst: UNLIMITED, perSecond: UNLIMITED };
  risk.defaults.maxOpenOrders = UNLIMITED;
  const gw = await startTestGateway(chain, { risk, env: { SEN_JOURNAL_FSYNC: fsync, SEN_WS_CONFLATE_MS: WS_CONFLATE_MS } });
  const creds = [];
  for (const [i, account] of [hardhatAccount(40), hardhatAccount(41)].entries()) {
    const c = await loginAndCreateKey(gw.url, account);
    await gw.ctx.trading.deposit(c.accountId, "VND", 10n ** 13n, `bench-vnd-${i}`);
    await gw.ctx.trading.deposit(c.accountId, "GOLD", 10n ** 9n, `bench-vgb30-${i}`);
    creds.push(c);
  }
  const [a, b] = creds;
  const identity = async (apiKey: string) => (await gw.ctx.keys.get(apiKey))!.identityHash;
  return {
    gw,
    traders: [a, b],
    accounts: [
      { accountId: a.accountId, identityHash: await identity(a.apiKey) },
      { accountId: b.accountId, identityHash: await identity(b.apiKey) },
    ],
  };
}

async function gatewayStats(g: BenchGateway): Promise<GatewayStats> {
  const trades = (await g.gw.ctx.metrics.trades.get()).values.reduce((s, v) => s + v.value, 0);
  const resting = g.accounts.reduce((s, a) => s + g.gw.ctx.trading.core.openOrderIds(a.accountId).size, 0);
  return { trades, resting };
}

/** The journal's counters as /metrics serves them. */
async function journalCounts(g: BenchGateway): Promise<JournalCounts> {
  const m = g.gw.ctx.metrics;
  const value = async (gauge: typeof m.journalWrites) => (await gauge.get()).values[0]?.value ?? 0;
  return { records: await value(m.journalRecords), writes: await value(m.journalWrites), syncs: await value(m.journalSyncs), commitMs: (await value(m.journalCommitSeconds)) * 1000 };
}

/** The gateway runs in this process: its CPU and the journal's counters. */
function gatewayMark(g: BenchGateway) {
  return async (): Promise<ServerMark> => ({ cpu: cpuSample(), threads: threadTimes(process.pid, startupThreads), waitMs: runQueueWaitMs(process.pid), journal: await journalCounts(g) });
}

async function measureGateway(g: BenchGateway, name: string, oidPrefix: string): Promise<Variant> {
  const { load, from, to } = await runLoad(g.gw.url, g.traders, oidPrefix, gatewayMark(g));
  return {
    name,
    load,
    serverCores: coreShare(from.cpu, to.cpu),
    threadsUs: perRequestByGroup(from.threads, to.threads, load.requests),
    mainWaitUs: ((to.waitMs - from.waitMs) * 1000) / load.requests,
    journal: {
      records: to.journal!.records - from.journal!.records,
      writes: to.journal!.writes - from.journal!.writes,
      syncs: to.journal!.syncs - from.journal!.syncs,
      commitMs: to.journal!.commitMs - from.journal!.commitMs,
    },
  };
}

function fsTypeOf(dir: string): string {
  const names: Record<number, string> = { 0xef53: "ext4", 0x01021994: "tmpfs (fsync is a no-op)", 0x58465342: "xfs", 0x9123683e: "btrfs", 0x794c7630: "overlayfs" };
  const type = statfsSync(dir).type;
  return names[type] ?? `filesystem type 0x${type.toString(16)}`;
}

// ------------------------------------------------------------------ run

await hre.tasks.getTask("build").run({ quiet: true });
const chain = await startChain();
for (const i of [40, 41]) await chain.attest(hardhatAccount(i).address, `bench-api-${i}`);

const always = await startBenchGateway(chain, "always");
const none = await startBenchGateway(chain, "none");
const journalFs = fsTypeOf(always.gw.dataDir);
// Rounds of baseline, fsync always, fsync none, one after another, so that a drift of the
// machine's speed falls on all three; both gateways stay up (the idle one only runs its timers).
const rounds: { baseline: Variant[]; always: Variant[]; none: Variant[] } = { baseline: [], always: [], none: [] };
for (let r = 1; r <= REPEAT; r++) {
  console.error(`bench:api: round ${r} of ${REPEAT}: baseline, gateway fsync always, gateway fsync none`);
  rounds.baseline.push(await measureBaseline());
  rounds.always.push(await measureGateway(always, "Sen gateway, file journal, fsync always", `a${r}-`));
  rounds.none.push(await measureGateway(none, "Sen gateway, file journal, fsync none", `n${r}-`));
}
/** The round with the median req/s. */
const medianRound = (vs: Variant[]): Variant => [...vs].sort((a, b) => a.load.reqPerSec - b.load.reqPerSec)[(vs.length - 1) >> 1];
const baseline = medianRound(rounds.baseline);
const gwAlways = medianRound(rounds.always);
const gwNone = medianRound(rounds.none);
const statsAlways = await gatewayStats(always);
const statsNone = await gatewayStats(none);
let profile: CpuBreakdown | null = null;
let profiledRate = 0;
if (PROFILE_SECONDS > 0) {
  console.error("bench:api: profiled gateway pass");
  profile = await profileCpu(async () => {
    profiledRate = (await runLoad(always.gw.url, always.traders, "p", gatewayMark(always), PROFILE_SECONDS, 0)).load.reqPerSec;
  });
  console.error("bench:api: top self time in the gateway process (profiled pass):");
  for (const t of profile.top) console.error(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.where}  [${t.category}]`);
}
console.error(`bench:api: websocket fan-out to ${WS_CLIENTS} subscribers`);
const ws: WsFanoutResult = await measureWsFanout(always.gw, { symbol: SYMBOL, clients: WS_CLIENTS, seconds: WS_SECONDS, warmupSeconds: WARMUP_SECONDS, ordersPerSecond: WS_ORDERS_PER_S, traders: always.accounts });
const conflateMs = always.gw.ctx.config.wsConflateMs;
const wsMaxBuffer = always.gw.ctx.config.wsMaxBufferedBytes;
await always.gw.close();
await none.gw.close();
await chain.close();

// ------------------------------------------------------------------ report

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : "—");
const ratioOf = (v: Variant) => v.load.reqPerSec / baseline.load.reqPerSec;
const verdict = (ok: boolean) => (ok ? "met" : "**missed**");
const usPerReq = (v: Variant) => (v.serverCores * 1e6) / v.load.reqPerSec;
const variants = [baseline, gwAlways, gwNone];
const invalid = variants.filter((v) => v.load.notOk > 0 || v.load.errors > 0 || v.load.timeouts > 0);

const httpRows = variants.map((v, i) => {
  const r = ratioOf(v);
  const target = i === 0 ? "—" : i === 1 ? `≥ ${TARGET_RATIO.toFixed(2)}×: ${verdict(r >= TARGET_RATIO)}` : "(comparison)";
  const l = v.load;
  return `| ${v.name} | ${int(l.reqPerSec)} | ${ms(l.latencyMs.p50)} | ${ms(l.latencyMs.p99)} | ${ms(l.latencyMs.max)} | ${int(l.requests)} | ${l.notOk + l.errors + l.timeouts} | ${v.serverCores.toFixed(2)} | ${int(usPerReq(v))} | ${l.loadgenCores.toFixed(2)} | ${r.toFixed(2)}× | ${target} |`;
});

const wsOk = ws.fromApplyMs.p99 < TARGET_WS_P99_MS && ws.closed === 0 && ws.slowConsumersDropped === 0;
const perMessageUs = (cpu: number) => (ws.messages > 0 ? (cpu * 1000) / ws.messages : Number.NaN);

/**
 * The target's latency on paper from this run's cost per client-message: a change waits at most
 * one conflation window and a flush already under way, then its own flush reaches the last
 * socket. One process flushes to every subscriber; edges of the split (each on cores of its own)
 * share them. The fewest edges that leave the order's path to them some room, up to 16.
 */
function wsOnPaper(): string {
  const us = perMessageUs(ws.gatewayCpuMs);
  if (!Number.isFinite(us) || ws.connected === 0) return "";
  const fanout = (subscribers: number) => conflateMs + (2 * us * subscribers) / 1000;
  const one = fanout(ws.connected);
  const journalMs = ws.fromApplyMs.p50 - ws.fromPublishMs.p50;
  let edges = 1;
  while (edges < 16 && fanout(Math.ceil(ws.connected / edges)) + journalMs >= TARGET_WS_P99_MS) edges++;
  const spread = fanout(Math.ceil(ws.connected / edges));
  const fits = spread + journalMs < TARGET_WS_P99_MS;
  return [
    `On paper, from the cost measured here (${ms(us)} µs per client-message, placing the orders and this VM's contention included, so an upper bound): a change waits at most one window (${conflateMs} ms) and a flush already under way, then its own flush reaches the last socket, so one process serving all ${int(ws.connected)} subscribers can take up to ${ms(one)} ms after publication${one >= TARGET_WS_P99_MS ? ", past the target before the journal's wait is counted" : ""}.`,
    fits
      ? `Spread over ${edges} edge${edges > 1 ? "s" : ""} of the split (README "Scale-out"; each on cores of its own, ${int(Math.ceil(ws.connected / edges))} subscribers each), that is ${ms(spread)} ms, which leaves ${ms(TARGET_WS_P99_MS - spread)} ms at the 99th percentile for the order's path to the edges (the journal's wait alone was ${ms(journalMs)} ms at the median here). A projection from a measured cost, not a measurement.`
      : `Even 16 edges leave ${ms(spread)} ms, past the target with the journal's ${ms(journalMs)} ms: the window itself would have to shrink.`,
  ].join(" ");
}
const wsRate = ws.spanMs > 0 ? (ws.messages * 1000) / ws.spanMs : 0;

const share = (pattern: RegExp) => (profile ? profile.rows.filter((r) => pattern.test(r.category)).reduce((s, r) => s + r.share, 0) : Number.NaN);
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : "—");
const expressShare = share(/^Express/);
const nodeHttpShare = share(/^Node (HTTP|net)/);
const authShare = share(/^(Sen auth|Node crypto|zod)/);
const exchangeShare = share(/^(Sen (journal|trading)|matching engine|Node fs)/);
const ratioAlways = ratioOf(gwAlways);
const ratioNone = ratioOf(gwNone);

function journalLine(v: Variant): string {
  const j = v.journal!;
  const perWrite = j.writes > 0 ? ` (${(j.records / j.writes).toFixed(1)} per write: the group commit)` : "";
  const commit = j.writes > 0 ? `, each ${(j.commitMs / j.writes).toFixed(2)} ms from its write starting until acknowledged` : "";
  return `${v.name}: ${int(j.records)} journal records in ${int(j.writes)} writes${perWrite}, ${j.syncs === 0 ? "none of them synced" : `${int(j.syncs)} of them synced`}${commit}`;
}

const waitUs = (v: Variant) => (Number.isFinite(v.mainWaitUs) ? int(v.mainWaitUs) : "—");

/** "main thread 210, worker threads 95, ..." (µs per request, groups under 0.5 µs left out). */
function threadLine(v: Variant): string {
  return (Object.keys(THREAD_GROUPS) as ThreadGroup[])
    .filter((g) => v.threadsUs[g] >= 0.5)
    .map((g) => `${g === "workers" && v.journal ? "worker threads (the audit index's SQLite worker, the clock sampler)" : THREAD_GROUPS[g]} ${int(v.threadsUs[g])}`)
    .join(", ");
}

function findings(): string {
  const parts: string[] = [];
  const b = baseline;
  parts.push(
    `Per signed order the baseline uses ${int(usPerReq(b))} µs of server CPU, the gateway ${int(usPerReq(gwAlways))} µs with fsync always and ${int(usPerReq(gwNone))} µs with fsync none (CPU time over the measured window ÷ requests).`,
  );
  if (profile) {
    parts.push(
      `In the profiled pass Express 5 itself (router, express.raw, res.json) is ${pct(expressShare)} of the gateway's busy CPU, Node's HTTP server, sockets and streams ${pct(nodeHttpShare)}, signature checking and validation (Sen auth, crypto, zod) ${pct(authShare)}, and the exchange work behind the route (risk, engine, ledger, market data, journal encoding and writes) ${pct(exchangeShare)}.`,
    );
  }
  const j = gwAlways.journal!;
  const flush = `${(j.records / Math.max(1, j.writes)).toFixed(1)} orders per durable write with ${CONNECTIONS} connections`;
  const extraUs = usPerReq(gwNone) - usPerReq(b);
  if (ratioAlways >= TARGET_RATIO) {
    parts.push(`With every order journaled and made durable before its reply (${flush}) the gateway keeps ${ratioAlways.toFixed(2)}× of the bare route's throughput: the target is met.`);
  } else if (ratioNone > ratioAlways * 1.05) {
    parts.push(
      `Target missed. Turning the fsync off moves the gateway from ${ratioAlways.toFixed(2)}× to ${ratioNone.toFixed(2)}× of the baseline, so waiting for the disk costs ${pct(1 - ratioAlways / ratioNone)} of its throughput (${flush}: each reply waits for the flush of its group, and the next group forms while it runs); the rest of the gap, ${ratioNone.toFixed(2)}× to 1.00×, is the gateway's work per order beyond the bare route (its full route table, metrics, risk checks, engine, ledger, market data, journal encoding): ${int(extraUs)} µs of CPU per order over the baseline's ${int(usPerReq(b))} µs.`,
    );
    if (ratioNone >= TARGET_RATIO) {
      parts.push(`Without the fsync the target is met: what the ${CONNECTIONS} connections wait on is the disk's flush latency, not Express or the engine; more concurrent clients (bigger group commits) or a disk with faster flushes raise the fsync-always figure.`);
    }
  } else {
    parts.push(
      `Target missed, and not because of the fsync (fsync none reaches ${ratioNone.toFixed(2)}×, fsync always ${ratioAlways.toFixed(2)}×; ${flush}): the gap is the gateway's work per order beyond the bare route (its full route table, metrics, risk checks, engine, ledger, market data, journal encoding), ${int(extraUs)} µs of CPU per order over the baseline's ${int(usPerReq(b))} µs, with the gateway's core ${pct(gwAlways.serverCores)} busy.`,
    );
  }
  if (ratioAlways < TARGET_RATIO) {
    // The bound two cores set, from this run's own per-thread costs: the main thread can give at
    // most one core, and every other thread shares the second with the load generator.
    const targetRate = TARGET_RATIO * b.load.reqPerSec;
    const mainUs = gwAlways.threadsUs.main;
    const needMainUs = 1e6 / targetRate;
    const cores = (targetRate * usPerReq(gwAlways)) / 1e6;
    const loadgen = (gwAlways.load.loadgenCores / gwAlways.load.reqPerSec) * targetRate;
    parts.push(
      `What two cores allow, from this run's costs: the gateway's main thread spent ${int(mainUs)} µs per order (the baseline's ${int(b.threadsUs.main)}), so one core never idle would carry at most ${int(1e6 / mainUs)} req/s, ${(1e6 / mainUs / b.load.reqPerSec).toFixed(2)}× the baseline. The target, ${int(targetRate)} req/s, needs the main thread at no more than ${int(needMainUs)} µs per order, leaving ${int(needMainUs - b.threadsUs.main)} µs beside the baseline's own work for everything the exchange does (bench:sequencer measures that work alone, on a thread of its own: its section below); and at this run's ${int(usPerReq(gwAlways))} µs of process CPU per order it would take ${cores.toFixed(2)} cores, with the load generator's ${loadgen.toFixed(2)} beside them, of the machine's 2. Sequencer and HTTP on separate cores (the split, or a worker thread) is the way past it, and it needs more than two.`,
    );
  }
  const httpShare = expressShare + nodeHttpShare;
  const httpIsLimit = httpShare >= 0.5;
  parts.push(
    `The bare Express route itself tops out at ${int(b.load.reqPerSec)} req/s with its process using ${b.serverCores.toFixed(2)} cores: the ceiling of any one-process Express gateway on this machine, before any exchange work.`,
    profile
      ? httpIsLimit
        ? `In the gateway, Express (${pct(expressShare)}) and Node's HTTP server and sockets (${pct(nodeHttpShare)}) take ${pct(httpShare)} of the CPU, more than everything else together: once the journal is not the wait, the HTTP stack is the limit, Express alone a ${pct(expressShare)} part of it.`
        : `In the gateway, Express (${pct(expressShare)}) and Node's HTTP server and sockets (${pct(nodeHttpShare)}) take ${pct(httpShare)} of the CPU: a large part, but not the limit on its own.`
      : "",
    `The way out past one core is to scale the HTTP edge, not the engine: several gateway processes (or SO_REUSEPORT workers) terminating HTTP, checking signatures and validating bodies in parallel, each forwarding decoded orders to the one sequencer/engine process (which spends only the exchange share above per order, see bench:sequencer). Within one process the order route already skips Express (the lean path above); what is left is Node's HTTP cost and the exchange work.`,
  );
  return parts.filter(Boolean).join(" ");
}

const markdown = [
  "## API gateway (`npm run bench:api`)",
  "",
  machineLine(),
  "",
  "Method:",
  `- Process layout: the load generator (autocannon, keep-alive, ${CONNECTIONS} connections, one request in flight per connection) runs in its own process; the bare Express baseline runs in its own process on its own port; the gateway runs in the orchestrator's process (the real \`createContext\` + \`startGateway\`, the same wiring as \`npm run start:gateway\`), next to an in-process Hardhat chain that is only used while the two traders sign in (SIWE, e-ID check) and is idle during the measurement. With 2 cores, the server under test has one core and the load generator the other; the load generator's own CPU use is in the table.`,
  nodeFlagsLine(),
  `- Requests: \`POST ${ORDER_PATH}\`, each signed afresh (KuCoin API-key v2: ms timestamp, HMAC-SHA256 of the request; a unique clientOid per request, so no two signatures repeat and the replay guard accepts each). Limit orders of 1 lot on ${SYMBOL}, alternating buy (trader A) and sell (trader B) on a 9,900 / 10,000 / 10,100 ladder, so the book both trades and rests: the fsync-always gateway over its ${REPEAT} rounds (warm-up and measured windows) made ${int(statsAlways.trades)} trades with ${int(statsAlways.resting)} orders resting at the end (${int(statsNone.trades)} and ${int(statsNone.resting)} with fsync none).`,
  `- Baseline: one Express 5 route doing only what the gateway does before exchange work: \`express.raw\` body, the gateway's own \`verifyKucoinRequest\` with its API-key store and replay guard, \`JSON.parse\`, the gateway's own zod schema of the order body, \`res.json\` of a KuCoin envelope.`,
  `- Gateway: \`POST ${ORDER_PATH}\` is served by the lean order path (\`api/src/http/leanRouter.ts\`: plain node:http in front of Express, running the same route definition through the same auth, zod validation, handler, metrics and error mapper; every other route stays on Express). Rate limits raised for the bench through createContext's \`risk\` option (per-key and per-account token buckets ${int(UNLIMITED)}/s, max open orders ${int(UNLIMITED)}); price collar (10%) and volatility band (15%) on; traders funded with in-process deposits. Journal: file journal on ${journalFs} in a temporary directory, \`SEN_JOURNAL_FSYNC=always\` (one durable write per group commit: the segment is opened O_DSYNC; acknowledged after it) and \`none\` for comparison; snapshots at the defaults (every 10,000 records, spaced by the state: at least as many records apart as the last snapshot wrote orders and unsettled trades).`,
  `- Each variant: ${WARMUP_SECONDS} s warm-up, then ${SECONDS} s measured, in ${REPEAT} rounds (baseline, fsync always, fsync none, then again; the baseline a fresh process each round, the two gateways the same ones throughout); each row is the variant's round with the median req/s, and the ratios divide those medians. All rounds, req/s: baseline ${rounds.baseline.map((v) => int(v.load.reqPerSec)).join(", ")}; fsync always ${rounds.always.map((v) => int(v.load.reqPerSec)).join(", ")}; fsync none ${rounds.none.map((v) => int(v.load.reqPerSec)).join(", ")} (each round's gateway ÷ that round's baseline: ${rounds.always.map((v, i) => `${(v.load.reqPerSec / rounds.baseline[i].load.reqPerSec).toFixed(2)}×`).join(", ")} with fsync always). req/s = responses in the measured window / its length. Ack latency = request written → response received, per request, exact percentiles over every response. Every response body is checked for \`"code":"200000"\`. Server CPU = the server process's user + system CPU time over the measured window, in cores (it includes the libuv thread pool, where the journal's writes run, and V8's GC threads, so it can exceed 1.00).`,
  "",
  "| Server | req/s | p50 ms | p99 ms | max ms | requests | not 200000 / errors | server CPU (cores) | server CPU µs / request | load generator CPU (cores) | vs baseline | Target |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ...httpRows,
  "",
  invalid.length === 0
    ? "Every response of every measured run was `200000`."
    : `**Invalid run**: ${invalid.map((v) => `${v.name}: ${v.load.notOk} responses not 200000, ${v.load.errors} errors, ${v.load.timeouts} timeouts (e.g. ${v.load.notOkSamples.map((s) => `\`${s.replaceAll("|", "\\|")}\``).join(", ") || "connection errors"})`).join("; ")}.`,
  "",
  `Journal in the measured windows: ${journalLine(gwAlways)}; ${journalLine(gwNone)}.`,
  "",
  `Server CPU µs per request by thread, in the rows' rounds (the table's figure is their sum; the profile below samples the main thread only): baseline: ${threadLine(baseline)}; fsync always: ${threadLine(gwAlways)}; fsync none: ${threadLine(gwNone)}.`,
  "",
  `The main thread's time runnable but off the CPU (Linux schedstat: it waited for a core that its own process's other threads, the load generator and the host shared), µs per request: baseline ${waitUs(baseline)}, fsync always ${waitUs(gwAlways)}, fsync none ${waitUs(gwNone)}.`,
  "",
  ...(profile
    ? [
        `Where the gateway's main-thread CPU goes (V8 sampling profiler, which samples the main thread only, separate ${PROFILE_SECONDS} s pass with fsync always at ${int(profiledRate)} req/s; self time, natives charged to their JS caller; share of busy time, idle ${pct(profile.idleShare)}):`,
        "",
        "| Code | Share |",
        "|---|---:|",
        ...profile.rows.filter((r) => r.share >= 0.01).map((r) => `| ${r.category} | ${pct(r.share)} |`),
        "",
      ]
    : []),
  `Websocket level2 fan-out: ${int(ws.connected)} clients in their own process subscribed to \`/market/level2:${SYMBOL}\`; the orchestrator placed ${int(ws.ordersPlaced)} limit orders in the gateway's process at ${WS_ORDERS_PER_S}/s for ${WS_SECONDS} s (same ladder, ${int(ws.l2Changes)} level2 changes), after ${WARMUP_SECONDS} s of the same flow unmeasured (warm-up: the clients forget its messages, gap checking carries on), fsync always, conflation window \`SEN_WS_CONFLATE_MS=${conflateMs}\`, slow-consumer cut-off at ${int(wsMaxBuffer)} buffered bytes. Each change is stamped when the engine applies it and when the trading service publishes it (after the journal acknowledged it); each client stamps each message on receipt. Latency per client-message = receipt − stamp of the message's first change (\`sequenceStart\`), so it includes the wait for the conflation window. Stamps are \`performance.timeOrigin + performance.now()\` in both processes: wall-clock based, sub-millisecond, comparable because both processes run on this machine.`,
  "",
  `| Subscribers | Messages delivered | Messages / s | Engine apply → receipt p50 / p99 / max ms | Publish → receipt p50 / p99 / max ms | Clients dropped (slow consumer / closed) | Sequence gaps | Gateway CPU (cores) | Clients' CPU (cores) | Target p99 < ${TARGET_WS_P99_MS} ms |`,
  "|---:|---:|---:|---|---|---|---:|---:|---:|---|",
  `| ${int(ws.connected)} | ${int(ws.messages)} | ${int(wsRate)} | ${ms(ws.fromApplyMs.p50)} / ${ms(ws.fromApplyMs.p99)} / ${ms(ws.fromApplyMs.max)} | ${ms(ws.fromPublishMs.p50)} / ${ms(ws.fromPublishMs.p99)} / ${ms(ws.fromPublishMs.max)} | ${ws.slowConsumersDropped} / ${ws.closed} | ${ws.gaps} | ${ws.gatewayCores.toFixed(2)} | ${ws.clientCores.toFixed(2)} | ${verdict(wsOk)} |`,
  "",
  [
    `Engine apply → publish is the journal acknowledgement (fsync always) the gateway waits for before anything is published; publish → receipt is the conflation window (at most one level2 message per ${conflateMs} ms, counted from the end of the previous flush: a change after a quiet spell goes out at once, one during the window waits for its end), serialising once, writing to ${int(ws.connected)} sockets and the client's read.`,
    `CPU per delivered client-message: ${ms(perMessageUs(ws.gatewayCpuMs))} µs in the gateway's process (all its work over the run, placing the orders included, ÷ messages; each message is framed once and written to each socket as one prepared buffer), ${ms(perMessageUs(ws.clientCpuMs))} µs in the clients' process; a flush to all ${int(ws.connected)} subscribers therefore occupies the gateway's event loop for up to about ${ms((perMessageUs(ws.gatewayCpuMs) * ws.connected) / 1000)} ms, and the last subscriber served waits up to that long after the first.`,
    `The largest send backlog of any client seen by the gateway was ${int(ws.maxBufferedBytes)} bytes. The gateway's event-loop delay over the run (perf_hooks, 1 ms resolution): p99 ${ms(ws.loopDelayP99Ms)} ms, max ${ms(ws.loopDelayMaxMs)} ms.`,
    wsOk
      ? ""
      : `Target missed: ${ws.slowConsumersDropped + ws.closed > 0 ? `${ws.slowConsumersDropped + ws.closed} clients were dropped; ` : ""}p99 ${ms(ws.fromApplyMs.p99)} ms from the engine event, of which the journal wait (apply → publish) is about ${ms(ws.fromApplyMs.p50 - ws.fromPublishMs.p50)} ms at the median and conflation, fan-out and delivery the rest (publish → receipt p99 ${ms(ws.fromPublishMs.p99)} ms).`,
    ws.unmatched > 0 ? `${int(ws.unmatched)} messages started at a change not stamped here and are left out of the latencies.` : "",
    `Receipt stamps include the client process's own queueing (${ws.clientCores.toFixed(2)} cores busy for ${int(ws.connected)} sockets), so the figures are an upper bound on the gateway's part.`,
    wsOk ? "" : wsOnPaper(),
  ]
    .filter(Boolean)
    .join(" "),
  "",
  findings(),
];

const text = markdown.join("\n");
console.log(text);
if (invalid.length > 0) {
  // A run with refused or failed requests measured something else: never record it.
  console.error("bench:api: INVALID run (responses other than 200000, errors or timeouts); BENCHMARKS.md not written");
  process.exit(1);
}
if (WRITE) writeBenchmarkSection("api", text);
process.exit(0);
