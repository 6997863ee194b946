import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { getAddress, type Address } from "viem";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { spawnExchange, type ExchangeProcess } from "./support/exchangeProcess.ts";
import { loginAndCreateKey } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { mulberry32 } from "./support/mulberry32.ts";
import { redisServerPath, startRedis, type RedisServer } from "./support/redisServer.ts";
import { until } from "./support/until.ts";
import { ledgerBooks, tradeSettledEvents, vaultBooks, type Trader } from "./support/vaultBooks.ts";

const SYMBOL = "GOLD-VND";
const ROUNDS = 20;
const SEED = 0x5e0021;
const DEADLINE_MS = 800;
/** Beyond the deadline: HTTP, signature checks and two busy event loops on a loaded machine. */
const MARGIN_MS = 1_500;
/** Orders acknowledged in a round before its fault, so every fault lands on a moving exchange. */
const ORDERS_PER_ROUND = 25;
/** Full checks (settlement caught up, books, fills against the vault's events) after these rounds. */
const CHECK_EVERY = 5;
// Funded accounts that hold no role (#12 is the vault's tax account).
const TRADER_ACCOUNTS = [10, 11, 13] as const;

type Client = ReturnType<typeof kucoinClient>;
type FaultPlan = { fault: "stop" | "kill"; gateway: "midStall" | "afterFailStop"; redisBackFirst: boolean; midStallMs: number };
type Acked = { client: Client; clientOid: string; orderId: string; side: string; price: string; size: string };
type Order = { id: string; clientOid: string; side: string; price: string; size: string };
type Fill = { tradeId: string; side: "buy" | "sell"; size: string; funds: string; fee: string; tax: string; settlementStatus: string; settlementTxHash: string | null };

/**
 * Where the traders wait while there is no gateway to talk to: after a 503 (it failed) or a cut
 * connection (it died) until the next one serves, and while the test pauses the load.
 */
class Gate {
  generation = 0;
  #open = true;
  #waiters: Array<() => void> = [];

  /** Resolves once the gate is open on generation `min` or later. */
  async wait(min = this.generation): Promise<void> {
    while (!(this.#open && this.generation >= min)) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.#open = false;
  }

  open(nextGeneration: boolean): void {
    if (nextGeneration) this.generation++;
    this.#open = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Traders placing crossing limit orders back to back through signed REST. Every request is
 * timed; a 200 is remembered as acknowledged; a 503 JOURNAL_IO or a cut connection parks the
 * trader at the gate until the next gateway.
 */
function startLoad(traders: Array<{ name: string; client: Client }>, gate: Gate, seed: number) {
  const acked: Acked[] = [];
  const requests: Array<{ start: number; end?: number }> = [];
  const codes = new Map<string, number>();
  const parked = new Set<string>();
  let stopped = false;

  async function trader(name: string, client: Client, random: () => number): Promise<void> {
    for (let i = 0; !stopped; i++) {
      await gate.wait();
      if (stopped) return;
      const generation = gate.generation;
      // Buys at or above 10000 and sells at or below it: every pair of opposite orders crosses.
      const side = random() < 0.5 ? "buy" : "sell";
      const price = String(side === "buy" ? 10_000 + 100 * Math.floor(random() * 2) : 10_000 - 100 * Math.floor(random() * 2));
      const size = String(1 + Math.floor(random() * 5));
      const clientOid = `${name}-${i}`;
      const req: { start: number; end?: number } = { start: Date.now() };
      requests.push(req);
      let outcome: string;
      try {
        const r = await client<{ orderId: string }>("POST", "/api/v1/orders", { clientOid, side, symbol: SYMBOL, type: "limit", price, size });
        req.end = Date.now();
        outcome = r.code === "200000" ? "ok" : `${r.status} ${r.senCode ?? r.code}`;
        if (outcome === "ok") acked.push({ client, clientOid, orderId: r.data.orderId, side, price, size });
      } catch {
        req.end = Date.now();
        outcome = "cut"; // the gateway died under it: the order may or may not be in the journal
      }
      codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
      if (stopped) return;
      // Only a dead or failed gateway parks the trader. A restarted one refusing a request as
      // signed before its restart (up to a second before the crash) just wants it signed again.
      if (outcome === "cut" || outcome === "503 JOURNAL_IO") {
        parked.add(name);
        await gate.wait(generation + 1);
        parked.delete(name);
      }
    }
  }

  const running = Promise.all(traders.map((t, i) => trader(t.name, t.client, mulberry32(seed + i + 1))));
  return {
    acked,
    requests,
    codes,
    parked,
    /** Resolves once every trader has stopped: after its request in flight is answered or cut. */
    stop(): Promise<unknown> {
      stopped = true;
      gate.open(true);
      return running;
    },
  };
}

/** The gateway child process on Redis, restartable on the same data after kill -9. */
function gatewayOn(chain: ChainFixture, redis: RedisServer) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "sen-redis-faults-"));
  const env = {
    REDIS_URL: redis.url,
    SEN_JOURNAL_DEADLINE_MS: String(DEADLINE_MS),
    // Snapshots are taken between faults too, so restarts begin from one as well as from the journal alone.
    SEN_SNAPSHOT_EVERY: "150",
    SEN_SNAPSHOT_SPACING: "fixed",
    SEN_CHAIN_RPC: chain.rpcUrl!,
    SEN_DEPLOYMENT: chain.deploymentFile!,
    SEN_DATA_DIR: dataDir,
    SEN_CHAIN_KEY: chain.operatorKey,
    SEN_CONFIRMATIONS: "0",
    SEN_CHAIN_POLL_MS: "100",
    // No audit anchor transactions from the settler's key: settlement batches alone use it.
    SEN_AUDIT_CHECKPOINT_MS: "3600000",
    // Each Redis outage makes ioredis log every reconnect attempt at warn.
    SEN_LOG_LEVEL: "error",
  };
  let current: ExchangeProcess | undefined;
  return {
    get url() {
      return current!.url;
    },
    /** The running gateway's process id; undefined once it has exited. */
    get pid() {
      const child = current?.child;
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async start() {
      current = await spawnExchange(env);
    },
    async kill9() {
      await current!.kill9();
    },
    async close() {
      await current?.kill9().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function health(url: string): Promise<{ status: number; journal: string }> {
  const res = await fetch(`${url}/health`);
  const body = (await res.json()) as { journal: string };
  return { status: res.status, journal: body.journal };
}

async function ordersByClientOid(client: Client): Promise<Map<string, Order>> {
  const orders = new Map<string, Order>();
  for (let page = 1; ; page++) {
    const r = await client<{ items: Order[]; totalPage: number }>("GET", `/api/v1/orders?pageSize=500&currentPage=${page}`);
    assert.equal(r.code, "200000", JSON.stringify(r));
    for (const o of r.data.items) orders.set(o.clientOid, o);
    if (page >= r.data.totalPage) return orders;
  }
}

async function allFills(client: Client): Promise<Fill[]> {
  const fills: Fill[] = [];
  for (let page = 1; ; page++) {
    const r = await client<{ items: Fill[]; totalPage: number }>("GET", `/api/v1/fills?pageSize=500&currentPage=${page}`);
    assert.equal(r.code, "200000", JSON.stringify(r));
    fills.push(...r.data.items);
    if (page >= r.data.totalPage) return fills;
  }
}

/**
 * Settlement caught up (no new trades meanwhile): each trade id was settled once, each
 * TradeSettled event moved exactly the gateway's trade of that id (an id given again after a
 * crash to another trade differs here), by the transaction its fills name, and the vault's
 * books equal the ledger.
 */
async function assertSettledAsTraded(chain: ChainFixture, traders: Trader[], label: string): Promise<number> {
  // Caught up: the gateway has recorded every trade's settlement (none waits, none failed).
  let pending: string[] = [];
  const fills = await until(
    `${label}: settlement caught up`,
    async () => {
      const byTrade = new Map<string, Array<Fill & { wallet: Address }>>();
      for (const t of traders) for (const f of await allFills(t.client)) byTrade.set(f.tradeId, [...(byTrade.get(f.tradeId) ?? []), { ...f, wallet: getAddress(t.wallet) }]);
      pending = [...byTrade].filter(([, sides]) => sides.some((f) => f.settlementStatus === "pending")).map(([id]) => id);
      return pending.length === 0 && byTrade;
    },
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${pending.length} trades still pending, first ${pending.slice(0, 5).join(", ")}`);
  });
  const events = await tradeSettledEvents(chain);
  const seen = new Set<string>();
  for (const e of events) {
    assert.ok(!seen.has(e.tradeId), `${label}: trade ${e.tradeId} settled twice`);
    seen.add(e.tradeId);
    const sides = fills.get(e.tradeId);
    assert.ok(sides, `${label}: trade ${e.tradeId} settled on chain, unknown to the gateway`);
    const sell = sides.find((f) => f.side === "sell");
    const buy = sides.find((f) => f.side === "buy");
    assert.ok(sell && buy && sides.length === 2, `${label}: trade ${e.tradeId} has one fill per side: ${JSON.stringify(sides)}`);
    assert.deepEqual(
      { seller: e.seller, buyer: e.buyer, asset: e.asset, assetAmount: e.assetAmount, cashAmount: e.cashAmount, sellerFee: e.sellerFee, buyerFee: e.buyerFee, sellerTax: e.sellerTax },
      { seller: sell.wallet, buyer: buy.wallet, asset: chain.deployment.contracts.GoldToken, assetAmount: BigInt(sell.size), cashAmount: BigInt(sell.funds), sellerFee: BigInt(sell.fee), buyerFee: BigInt(buy.fee), sellerTax: BigInt(sell.tax) },
      `${label}: trade ${e.tradeId} settled with other content than the gateway's`,
    );
    assert.equal(BigInt(buy.funds), BigInt(sell.funds));
    for (const f of sides) {
      assert.equal(f.settlementStatus, "settled", `${label}: trade ${e.tradeId}`);
      assert.equal(f.settlementTxHash, e.txHash, `${label}: trade ${e.tradeId} names the transaction that moved it`);
    }
  }
  for (const [tradeId, sides] of fills) assert.ok(seen.has(tradeId), `${label}: trade ${tradeId} (${sides[0].settlementStatus}) never settled on chain`);
  assert.deepEqual(await vaultBooks(chain, traders.map((t) => t.wallet)), await ledgerBooks(traders), `${label}: the vault's books equal the ledger`);
  return events.length;
}

describe("Redis journal faults under load: SIGSTOP/SIGKILL of redis-server, kill -9 of the gateway", { skip: redisServerPath() === null && "redis-server not installed" }, () => {
  let chain: ChainFixture;
  before(async () => {
    chain = await startChain({ serve: true });
  });
  after(async () => {
    await chain?.close();
  });

  it(`${ROUNDS} rounds: nothing acknowledged lost, nothing settled that is not durable, no trade id reused, the vault's books equal the ledger`, { timeout: 400_000 }, async (t) => {
    const random = mulberry32(SEED);
    const plan: FaultPlan[] = Array.from({ length: ROUNDS }, () => ({
      fault: random() < 0.5 ? "stop" : "kill",
      gateway: random() < 0.5 ? "midStall" : "afterFailStop",
      redisBackFirst: random() < 0.4,
      midStallMs: Math.floor(random() * DEADLINE_MS * 0.8),
    }));
    // The seed must exercise every combination of fault and moment of the gateway's death, and
    // Redis coming back under the failed gateway (ioredis resends what it had in flight) or not.
    for (const fault of ["stop", "kill"]) {
      for (const gateway of ["midStall", "afterFailStop"]) assert.ok(plan.filter((p) => p.fault === fault && p.gateway === gateway).length >= 3, `seed ${SEED} plans ${fault}/${gateway} 3 times`);
      for (const back of [true, false]) assert.ok(plan.some((p) => p.fault === fault && p.gateway === "afterFailStop" && p.redisBackFirst === back), `seed ${SEED} plans ${fault}/afterFailStop with redisBackFirst ${back}`);
    }

    const redis = await startRedis();
    const gw = gatewayOn(chain, redis);
    // Whatever happens to this process, no redis-server or gateway outlives it.
    const reap = () => {
      for (const pid of [gw.pid, redis.pid]) {
        try {
          if (pid !== undefined) process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    };
    process.once("exit", reap);
    const gate = new Gate();
    let load: ReturnType<typeof startLoad> | undefined;
    try {
      await gw.start();
      const traders: Array<Trader & { name: string }> = [];
      for (const idx of TRADER_ACCOUNTS) {
        const wallet = hardhatAccount(idx).address;
        await chain.attest(wallet, `redis-faults-${idx}`);
        await chain.fundAndDeposit(idx, { vnd: 10n ** 10n, gold: 100_000n });
        traders.push({ name: `t${idx}`, wallet, client: kucoinClient(() => gw.url, await loginAndCreateKey(gw.url, hardhatAccount(idx))) });
      }
      await until("deposits credited", async () => Object.values(await ledgerBooks(traders)).filter((b) => b > 0n).length === traders.length * 2);

      load = startLoad(traders, gate, SEED);
      let worstStallMs = 0;
      let failStopRounds = 0;
      let settled = 0;
      for (const [i, p] of plan.entries()) {
        const round = i + 1;
        const ackedBefore = load.acked.length;
        await until(`round ${round}: ${ORDERS_PER_ROUND} orders acknowledged`, async () => load!.acked.length >= ackedBefore + ORDERS_PER_ROUND, 30_000).catch(async (err: Error) => {
          throw new Error(`${err.message}: ${load!.acked.length - ackedBefore} acknowledged, outcomes ${JSON.stringify(Object.fromEntries(load!.codes))}, parked ${[...load!.parked]}, health ${JSON.stringify(await health(gw.url).catch((e: Error) => e.message))}`);
        });

        const faultAt = Date.now();
        await (p.fault === "stop" ? redis.pause() : redis.kill9());
        if (p.gateway === "midStall") {
          // The gateway dies at a planned moment inside the stall, before its deadline: requests
          // and possibly a settlement batch in flight, records applied but not yet durable.
          await new Promise((r) => setTimeout(r, p.midStallMs));
        } else {
          // Every trader's request in flight at the fault, or sent after it, is answered 503.
          await until(`round ${round}: every trader refused with 503`, async () => load!.parked.size === traders.length, DEADLINE_MS + MARGIN_MS + 5_000).catch(() => undefined);
          const now = Date.now();
          const stalled = load.requests.filter((r) => (r.end ?? now) >= faultAt).map((r) => (r.end ?? now) - r.start);
          const worst = Math.max(...stalled);
          worstStallMs = Math.max(worstStallMs, worst);
          assert.ok(worst < DEADLINE_MS + MARGIN_MS, `round ${round} (${p.fault}): a request took ${worst} ms; the deadline is ${DEADLINE_MS} ms`);
          assert.equal(load.parked.size, traders.length);
          const h = await health(gw.url);
          assert.deepEqual(h, { status: 503, journal: "failed" }, `round ${round}: /health reports the journal failed`);
          failStopRounds++;
        }
        const redisBack = () => (p.fault === "stop" ? redis.resume() : redis.restart());
        if (p.gateway === "afterFailStop" && p.redisBackFirst) await redisBack();
        gate.close();
        await gw.kill9();
        if (!(p.gateway === "afterFailStop" && p.redisBackFirst)) await redisBack();
        load.requests.length = 0;

        await gw.start();
        assert.deepEqual(await health(gw.url), { status: 200, journal: "ok" }, `round ${round}: restarted healthy`);
        // Every order acknowledged before any crash so far is there, as it was acknowledged.
        const orders = new Map<Client, Map<string, Order>>();
        for (const tr of traders) orders.set(tr.client, await ordersByClientOid(tr.client));
        for (const a of load.acked) {
          const o = orders.get(a.client)!.get(a.clientOid);
          assert.ok(o, `round ${round}: acknowledged order ${a.clientOid} (${a.orderId}) lost`);
          assert.deepEqual([o.id, o.side, o.price, o.size], [a.orderId, a.side, a.price, a.size], `round ${round}: order ${a.clientOid}`);
        }
        t.diagnostic(`round ${round}: ${p.fault} ${p.gateway}${p.gateway === "midStall" ? ` ${p.midStallMs} ms` : p.redisBackFirst ? " (Redis back first)" : ""}; ${load.acked.length} orders acknowledged so far`);

        if (round % CHECK_EVERY === 0) {
          // Traders pause (the books only meet once settlement has caught up) and go on after.
          const count = await assertSettledAsTraded(chain, traders, `after round ${round}`);
          assert.ok(count > settled, `after round ${round}: trades settled since the last check (${count})`);
          settled = count;
          t.diagnostic(`after round ${round}: ${count} trades settled, books equal`);
        }
        gate.open(true);
      }
      const outcomes = Object.fromEntries(load.codes);
      await load.stop();
      load = undefined;
      t.diagnostic(`worst request latency during a stall: ${worstStallMs} ms; request outcomes ${JSON.stringify(outcomes)}`);
      // Orders are accepted, refused for the journal's failure, cut by the gateway's death, or
      // refused right after a restart as signed before it: nothing else.
      assert.deepEqual(Object.keys(outcomes).filter((k) => !["ok", "503 JOURNAL_IO", "cut", "503 AUTH_SIGNED_BEFORE_RESTART"].includes(k)), [], JSON.stringify(outcomes));
      assert.ok(outcomes["503 JOURNAL_IO"] >= failStopRounds, "each fail-stop round refused requests with 503");
    } finally {
      // The gateway dies first: a request it left hanging is cut, so its trader can stop.
      const stopping = load?.stop();
      await gw.close();
      await redis.resume();
      await redis.stop();
      await stopping;
      process.removeListener("exit", reap);
    }
  });
});
