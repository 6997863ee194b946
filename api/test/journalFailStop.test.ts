import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readdirSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { redisServerPath, removeRedisDir, startRedis, type RedisServer } from "./support/redisServer.ts";

const SYMBOL = "GOLD-VND";
const DEADLINE_MS = 800;
type Msg = Record<string, any>;

/** The descriptors this process holds on the file journal's segments. */
function journalFds(journalDir: string): number[] {
  const fds: number[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${name}`);
      if (path.dirname(target) === journalDir && /^\d{20}\.journal$/.test(path.basename(target))) fds.push(Number(name));
    } catch {
      // closed meanwhile
    }
  }
  return fds;
}

/** A private + level2 websocket subscriber that keeps every message it gets. */
async function subscriber(gw: GatewayFixture, sessionToken: string) {
  const bullet = (await (await fetch(`${gw.url}/api/v1/bullet-private`, { method: "POST", headers: { authorization: `Bearer ${sessionToken}` } })).json()) as { data: { token: string } };
  const ws = new WebSocket(`${gw.ctx.config.wsEndpoint}?token=${bullet.data.token}&connectId=fs`);
  const messages: Msg[] = [];
  const waiters: Array<{ pred: (m: Msg) => boolean; resolve: (m: Msg) => void }> = [];
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as Msg;
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(m));
  });
  const next = (pred: (m: Msg) => boolean, from = 0) =>
    new Promise<Msg>((resolve, reject) => {
      const found = messages.slice(from).find(pred);
      if (found) return resolve(found);
      const t = setTimeout(() => reject(new Error("timed out waiting for a websocket message")), 10_000);
      waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  await next((m) => m.type === "welcome");
  let id = 0;
  const request = async (msg: Msg) => {
    const sid = `r${++id}`;
    ws.send(JSON.stringify({ id: sid, ...msg }));
    return next((m) => m.id === sid);
  };
  await request({ type: "subscribe", topic: `/market/level2:${SYMBOL}`, response: true });
  await request({ type: "subscribe", topic: "/spotMarket/tradeOrders", privateChannel: true, response: true });
  await request({ type: "subscribe", topic: "/account/balance", privateChannel: true, response: true });
  return {
    messages,
    next,
    /** Messages that arrived after index `from`, once a ping's pong proves the socket drained what was sent before it. */
    async since(from: number, settleMs: number): Promise<Msg[]> {
      await new Promise((r) => setTimeout(r, settleMs)); // longer than the level2 conflation window
      await request({ type: "ping" });
      return messages.slice(from).filter((m) => m.type !== "pong");
    },
    close: () => ws.close(),
  };
}

type Balances = Record<string, { available: string; holds: string }>;

async function balances(api: ReturnType<typeof kucoinClient>): Promise<Balances> {
  const r = await api("GET", "/api/v1/accounts");
  assert.equal(r.code, "200000", JSON.stringify(r));
  return Object.fromEntries((r.data as Array<{ currency: string; available: string; holds: string }>).map((a) => [a.currency, { available: a.available, holds: a.holds }]));
}

async function health(gw: GatewayFixture): Promise<{ status: number; body: Msg }> {
  const res = await fetch(`${gw.url}/health`);
  return { status: res.status, body: (await res.json()) as Msg };
}

/**
 * One scenario for every way the journal can fail: an acknowledged resting order first, then
 * the fault, then an order that must be refused with 503 JOURNAL_IO, with nothing published,
 * every trading route stopped and /health failed; after a restart on the same data the
 * acknowledged order is there, the refused one is not, and balances are what they were.
 */
async function failStopScenario(
  chain: ChainFixture,
  options: { label: string; accountIndex: number; env: Record<string, string>; dataDir: string },
  fault: (gw: GatewayFixture) => Promise<void>,
  repair: () => Promise<void>,
) {
  const account = hardhatAccount(options.accountIndex);
  await chain.attest(account.address, `failstop-${options.label}`);
  const env = { SEN_JOURNAL_DEADLINE_MS: String(DEADLINE_MS), SEN_WS_CONFLATE_MS: "5", ...options.env };
  let gw = await startTestGateway(chain, { dataDir: options.dataDir, env });
  let ws: Awaited<ReturnType<typeof subscriber>> | undefined;
  let api: ReturnType<typeof kucoinClient>;
  let before: Awaited<ReturnType<typeof balances>>;
  let seqBefore: bigint;
  try {
    const trader = await loginAndCreateKey(gw.url, account);
    api = kucoinClient(() => gw.url, trader);
    await gw.ctx.trading.deposit(trader.accountId, "VND", 10n ** 10n, `failstop-${options.label}-vnd`);
    ws = await subscriber(gw, trader.token);

    const first = await api("POST", "/api/v1/orders", { clientOid: `${options.label}-1`, side: "buy", symbol: SYMBOL, type: "limit", price: "9000", size: "1" });
    assert.equal(first.code, "200000", JSON.stringify(first));
    const firstId = (first.data as { orderId: string }).orderId;
    // The subscriber works: the acknowledged order reached it.
    await ws.next((m) => m.topic === "/spotMarket/tradeOrders" && m.data?.orderId === firstId);
    // The order's own book change (the empty primers sent right after the subscription carry none).
    await ws.next((m) => m.topic === `/market/level2:${SYMBOL}` && m.data.changes.bids.length > 0);
    before = await balances(api);
    seqBefore = gw.ctx.trading.lastSeq;

    await fault(gw);
    const mark = ws.messages.length;
    const started = Date.now();
    const refused = await api("POST", "/api/v1/orders", { clientOid: `${options.label}-2`, side: "buy", symbol: SYMBOL, type: "limit", price: "9100", size: "2" });
    const tookMs = Date.now() - started;
    assert.equal(refused.status, 503, JSON.stringify(refused));
    assert.equal(refused.code, "500000");
    assert.equal(refused.senCode, "JOURNAL_IO");
    assert.ok(tookMs < DEADLINE_MS + 4_000, `answered in ${tookMs} ms, not left hanging`);

    // Fail-stop: every trading route now answers 503, reads too (memory may hold the lost record).
    for (const [method, route] of [
      ["GET", "/api/v1/accounts"],
      ["GET", `/api/v1/orders?status=active&symbol=${SYMBOL}`],
      ["DELETE", `/api/v1/orders/${firstId}`],
      ["POST", "/api/v1/orders"],
    ] as const) {
      const r = await api(method, route, method === "POST" ? { clientOid: `${options.label}-3`, side: "buy", symbol: SYMBOL, type: "limit", price: "9000", size: "1" } : undefined);
      assert.equal(r.status, 503, `${method} ${route}: ${JSON.stringify(r)}`);
      assert.equal(r.senCode, "JOURNAL_IO", `${method} ${route}`);
    }
    const book = await fetch(`${gw.url}/api/v1/market/orderbook/level2_20?symbol=${SYMBOL}`);
    assert.equal(book.status, 503, "public market data stops too");
    const status = (await (await fetch(`${gw.url}/api/v1/status`)).json()) as Msg;
    assert.equal(status.data.status, "close");
    const h = await health(gw);
    assert.equal(h.status, 503);
    assert.equal(h.body.status, "failed");
    assert.equal(h.body.journal, "failed");

    // Nothing reached a subscriber: not the refused order, its book change or its balance hold.
    assert.deepEqual(await ws.since(mark, 100), [], "nothing is published after the journal failed");
    ws.close();
  } catch (err) {
    // A failed assertion must not leave a gateway, a socket or a stopped redis-server behind: the test process would never exit.
    ws?.close();
    await gw.close().catch(() => undefined);
    await repair().catch(() => undefined);
    throw err;
  }

  await gw.close().catch(() => undefined); // the journal cannot flush: closing may report it
  await repair();
  gw = await startTestGateway(chain, { dataDir: options.dataDir, env });
  try {
    assert.equal((await health(gw)).status, 200);
    const one = await api("GET", `/api/v1/order/client-order/${options.label}-1`);
    assert.equal(one.code, "200000", "the acknowledged order survived");
    assert.equal((one.data as { isActive: boolean }).isActive, true);
    const two = await api("GET", `/api/v1/order/client-order/${options.label}-2`);
    return { gw, api, two, before, seqBefore, after: await balances(api) };
  } catch (err) {
    await gw.close();
    throw err;
  }
}

describe("journal failure: fail-stop", { skip: process.platform !== "linux" && "needs /proc/self/fd and /dev/full" }, () => {
  let chain: ChainFixture;
  before(async () => {
    chain = await startChain();
  });
  after(async () => {
    await chain?.close();
  });

  it("file journal: a write that fails with ENOSPC stops the exchange and loses nothing acknowledged", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "sen-failstop-"));
    let swapped: { fd: number; full: number } | undefined;
    const r = await failStopScenario(
      chain,
      { label: "file", accountIndex: 13, env: { SEN_JOURNAL_FSYNC: "always" }, dataDir },
      async (gw) => {
        const fds = journalFds(path.join(gw.dataDir, "journal"));
        assert.equal(fds.length, 1, "one open journal segment");
        closeSync(fds[0]);
        const full = openSync("/dev/full", "w"); // takes the lowest free descriptor: the one just closed
        assert.equal(full, fds[0]);
        swapped = { fd: fds[0], full };
      },
      async () => undefined,
    );
    try {
      assert.ok(swapped);
      assert.equal(r.two.code, "400100", `the refused order does not exist after the restart: ${JSON.stringify(r.two)}`);
      assert.deepEqual(r.after, r.before, "balances are what they were before the refused order");
      assert.equal(r.gw.ctx.trading.lastSeq, r.seqBefore, "the journal holds nothing of the refused order");
    } finally {
      await r.gw.close();
    }
  });

  describe("Redis journal", { skip: redisServerPath() === null && "redis-server not installed" }, () => {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      await redis?.stop();
      if (redis) removeRedisDir(redis);
    });

    it("redis-server killed: 503 within the deadline, nothing lost or invented after restart", async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), "sen-failstop-"));
      const r = await failStopScenario(
        chain,
        { label: "rkill", accountIndex: 14, env: { REDIS_URL: redis.url }, dataDir },
        () => redis.kill9(),
        () => redis.restart(),
      );
      try {
        assert.equal(r.two.code, "400100", `the refused order does not exist after the restart: ${JSON.stringify(r.two)}`);
        assert.deepEqual(r.after, r.before);
      } finally {
        await r.gw.close();
      }
    });

    it("redis-server stalled (SIGSTOP): 503 within the deadline instead of a hang; after it resumes, the state is consistent", async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), "sen-failstop-"));
      const r = await failStopScenario(
        chain,
        { label: "rstop", accountIndex: 15, env: { REDIS_URL: redis.url }, dataDir },
        () => redis.pause(),
        () => redis.resume(),
      );
      try {
        // The stalled write may have landed once Redis resumed: the order's outcome was unknown
        // to the client (503), but the state is one of the two, never half of it.
        if (r.two.code === "200000") {
          const o = r.two.data as { size: string; isActive: boolean };
          assert.equal(o.size, "2");
          assert.equal(o.isActive, true);
          assert.equal(BigInt(r.after.VND.holds) > BigInt(r.before.VND.holds), true, "its hold came back with it");
        } else {
          assert.equal(r.two.code, "400100", JSON.stringify(r.two));
          assert.deepEqual(r.after, r.before);
        }
      } finally {
        await r.gw.close();
      }
    });
  });
});
