import assert from "node:assert/strict";
import { spawn as spawnChild } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { decodeJson } from "../src/journal/jsonCodec.ts";
import { hardhatAccount, type ChainFixture } from "./support/chainFixture.ts";
import { startSplitCluster, type SplitCluster, type SplitRole } from "./support/clusterFixture.ts";
import type { ExchangeProcess } from "./support/exchangeProcess.ts";
import { loginAndCreateKey } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { redisServerPath, type RedisServer } from "./support/redisServer.ts";
import { until } from "./support/until.ts";
import { connectWs } from "./support/wsClient.ts";

/**
 * The split on real processes: one SEN_ROLE=sequencer and two SEN_ROLE=edge spawned from
 * api/src/main.ts on a real redis-server and a real chain. Orders go in through both edges;
 * what one edge acknowledged is seen by the other (its replica follows the journal); killing
 * an edge loses nothing it acknowledged and the other edge goes on serving.
 */
const skip = redisServerPath() === null ? "redis-server not installed" : undefined;
if (skip) console.log(`# skipping edge tests: ${skip}`);

const SYMBOL = "GOLD-VND";
const SELLER = 10;
const BUYER = 11;

type Client = ReturnType<typeof kucoinClient>;

describe("edges in front of one sequencer (SEN_ROLE=edge)", { skip, timeout: 120_000 }, () => {
  let cluster: SplitCluster;
  let chain: ChainFixture;
  let redis: RedisServer;
  let sequencer: ExchangeProcess;
  /** A hot standby on the same data directory: it serves (SEN_READY) once it holds the lease. */
  let standby: ExchangeProcess & { ready: Promise<string> };
  let edgeA: ExchangeProcess;
  let edgeB: ExchangeProcess;
  const spawn = (role: SplitRole, node: string) => cluster.spawn(role, node, role === "sequencer" ? { shared: "sequencer" } : {});

  const traders: Record<"seller" | "buyer", { accountId: string; viaA: Client; viaB: Client; direct: Client }> = {} as never;

  before(async () => {
    cluster = await startSplitCluster({ SEN_CHAIN_POLL_MS: "100" });
    ({ chain, redis } = cluster);
    sequencer = await spawn("sequencer", "seq-1");
    standby = cluster.track(startStandby(cluster.env("sequencer", "seq-2", { shared: "sequencer" })));
    [edgeA, edgeB] = await Promise.all([spawn("edge", "edge-a"), spawn("edge", "edge-b")]);
    for (const [name, idx] of [["seller", SELLER], ["buyer", BUYER]] as const) {
      const account = hardhatAccount(idx);
      await chain.attest(account.address, `edges-${idx}`);
      await chain.fundAndDeposit(idx, { vnd: 10n ** 10n, gold: 100_000n });
      // Signed in and keyed through edge A; the key works on edge B too (shared in Redis).
      const creds = await loginAndCreateKey(edgeA.url, account);
      traders[name] = { accountId: creds.accountId, viaA: kucoinClient(() => edgeA.url, creds), viaB: kucoinClient(() => edgeB.url, creds), direct: kucoinClient(() => sequencer.url, creds) };
    }
    // The deposits are the sequencer's (chain services); both replicas see them through the journal.
    for (const t of Object.values(traders)) {
      for (const via of [t.viaA, t.viaB]) {
        await until("deposits on both edges", async () => {
          const r = await via<Array<{ currency: string; available: string }>>("GET", "/api/v1/accounts");
          return r.code === "200000" && r.data.filter((b) => b.currency === "VND" || b.currency === "GOLD").every((b) => Number(b.available) > 0) && r.data.length >= 2;
        }, 30_000);
      }
    }
  });

  after(async () => {
    await cluster?.close();
  });

  it("an order placed on edge A shows in edge B's level 2 and its fill on the owner's private websocket on edge B", async () => {
    const { seller, buyer } = traders;
    const publicB = await connectWs(...(await bullet(edgeB.url, "/api/v1/bullet-public")));
    const bulletB = await seller.viaB<{ token: string; instanceServers: Array<{ endpoint: string }> }>("POST", "/api/v1/bullet-private");
    assert.equal(bulletB.code, "200000", JSON.stringify(bulletB));
    assert.ok(bulletB.data.instanceServers[0].endpoint.startsWith(edgeB.url.replace("http", "ws")), "edge B hands out its own websocket");
    const privateB = await connectWs(bulletB.data.instanceServers[0].endpoint, bulletB.data.token);
    try {
      await publicB.subscribe(`/market/level2:${SYMBOL}`);
      await privateB.subscribe("/spotMarket/tradeOrders", true);

      const sell = await seller.viaA<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: "edge-sell-1", side: "sell", symbol: SYMBOL, type: "limit", price: "10500", size: "5" });
      assert.equal(sell.code, "200000", JSON.stringify(sell));
      // Read-your-writes on edge A: acknowledged means its replica has it.
      const onA = await seller.viaA<{ id: string; isActive: boolean }>("GET", `/api/v1/orders/${sell.data.orderId}`);
      assert.equal(onA.data.id, sell.data.orderId);

      await publicB.next((m) => m.topic === `/market/level2:${SYMBOL}` && (m.data.changes.asks as string[][]).some((a) => a[0] === "10500" && a[1] === "5"), "edge B's level2 showing edge A's ask");
      const bookB = await seller.viaB<{ asks: string[][] }>("GET", `/api/v3/market/orderbook/level2?symbol=${SYMBOL}`);
      assert.ok(bookB.data.asks.some((a) => a[0] === "10500"), JSON.stringify(bookB.data));

      const buy = await buyer.viaB<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: "edge-buy-1", side: "buy", symbol: SYMBOL, type: "limit", price: "10500", size: "2" });
      assert.equal(buy.code, "200000", JSON.stringify(buy));
      const fill = await privateB.next((m) => m.topic === "/spotMarket/tradeOrders" && m.data.orderId === sell.data.orderId && m.data.type === "match", "the seller's fill on edge B");
      assert.equal(fill.data.matchSize, "2");
      assert.equal(fill.data.matchPrice, "10500");
      // Both edges agree on the trade (each from its own replica).
      for (const via of [seller.viaA, seller.viaB]) {
        const fills = await until("the fill on the edge's replica", async () => {
          const r = await via<{ items: Array<{ orderId: string; size: string }> }>("GET", `/api/v1/fills?symbol=${SYMBOL}`);
          return r.data.items.some((f) => f.orderId === sell.data.orderId) && r.data.items;
        });
        assert.equal(fills.find((f) => f.orderId === sell.data.orderId)!.size, "2");
      }
      // Cancel through edge B of an order placed through edge A.
      const cancel = await seller.viaB<{ cancelledOrderIds: string[] }>("DELETE", `/api/v1/orders/${sell.data.orderId}`);
      assert.deepEqual(cancel.data.cancelledOrderIds, [sell.data.orderId]);
      await until("the cancel on edge A", async () => (await seller.viaA<{ isActive: boolean }>("GET", `/api/v1/orders/${sell.data.orderId}`)).data.isActive === false);
    } finally {
      await publicB.close();
      await privateB.close();
    }
  });

  it("a stop order placed on edge A waits on edge B's replica and is cancelled through edge B", async () => {
    const { seller } = traders;
    const stop = await seller.viaA<{ orderId: string }>("POST", "/api/v1/stop-order", { clientOid: "edge-stop-1", side: "sell", symbol: SYMBOL, type: "limit", price: "9800", size: "1", stop: "loss", stopPrice: "9900" });
    assert.equal(stop.code, "200000", JSON.stringify(stop));
    const onB = await until("the stop on edge B", async () => {
      const r = await seller.viaB<{ id: string; stopPrice: string }>("GET", `/api/v1/stop-order/${stop.data.orderId}`);
      return r.code === "200000" && r.data;
    });
    assert.equal(onB.stopPrice, "9900");
    const cancel = await seller.viaB<{ cancelledOrderIds: string[] }>("DELETE", `/api/v1/stop-order/${stop.data.orderId}`);
    assert.deepEqual(cancel.data.cancelledOrderIds, [stop.data.orderId]);
  });

  it("routes an edge does not serve are forwarded to the sequencer, refusals keep their envelope", async () => {
    // Forwarded: the listings are the sequencer's (prospectus files).
    const viaEdge = await fetch(`${edgeB.url}/api/v1/sen/listings`);
    const direct = await fetch(`${sequencer.url}/api/v1/sen/listings`);
    assert.equal(viaEdge.status, 200);
    assert.deepEqual(await viaEdge.json(), await direct.json());
    // A refusal from the sequencer through the bus is the single process's envelope.
    const r = await traders.buyer.viaA("POST", "/api/v1/orders", { clientOid: "too-big", side: "buy", symbol: SYMBOL, type: "limit", price: "10900", size: "1000000" });
    assert.equal(r.status, 400);
    assert.equal(r.code, "200004", JSON.stringify(r)); // balance insufficient
  });

  it("kill -9 of edge A under load: every order it acknowledged is on edge B's replica and in the journal; edge B goes on serving; a restarted edge A replays to the same state", async () => {
    const { seller, buyer } = traders;
    const ackedByA: string[] = [];
    const ackedByB: string[] = [];
    let stop = false;
    let cut = 0;
    // Resting orders only (sells above, buys below the test's trades, inside the price collar): the load never runs out of funds.
    const load = async (name: string, via: Client, side: "buy" | "sell", acked: string[]) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await via<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: `${name}-${i}`, side, symbol: SYMBOL, type: "limit", price: side === "sell" ? String(10_600 + 100 * (i % 4)) : String(9_500 + 100 * (i % 4)), size: "1" });
          if (r.code === "200000") acked.push(r.data.orderId);
        } catch {
          cut++; // the edge died under the request: unknown, not acknowledged
          if (via === seller.viaA || via === buyer.viaA) return;
        }
      }
    };
    const running = [load("sa", seller.viaA, "sell", ackedByA), load("ba", buyer.viaA, "buy", ackedByA), load("sb", seller.viaB, "sell", ackedByB), load("bb", buyer.viaB, "buy", ackedByB)];
    await until("load through edge A", () => ackedByA.length >= 40, 30_000);
    await edgeA.kill9();
    const ackedAtKill = ackedByA.length;
    const bAtKill = ackedByB.length;
    await until("edge B serving after the kill", () => ackedByB.length >= bAtKill + 20, 20_000);
    stop = true;
    await Promise.all(running);
    assert.equal(ackedByA.length, ackedAtKill, "nothing acknowledged by a dead edge");

    // Edge B's replica has every order edge A acknowledged (read-your-writes made them durable first).
    for (const orderId of ackedByA) {
      const owner = (await seller.viaB<{ id?: string }>("GET", `/api/v1/orders/${orderId}`)).data?.id === orderId ? "seller" : "buyer";
      const r = await traders[owner].viaB<{ id: string }>("GET", `/api/v1/orders/${orderId}`);
      assert.equal(r.data?.id, orderId, `order ${orderId} acknowledged by edge A is on edge B`);
    }
    // ... and the sequencer's journal holds each exactly once.
    const client = new Redis(redis.url);
    try {
      const placed = new Map<string, number>();
      for (const [, fields] of await client.xrange("sen:journal", "-", "+")) {
        const rec = decodeJson(fields[1]) as { t: string; orderId?: string };
        if (rec.t === "place") placed.set(rec.orderId!, (placed.get(rec.orderId!) ?? 0) + 1);
      }
      for (const orderId of [...ackedByA, ...ackedByB]) assert.equal(placed.get(orderId), 1, `order ${orderId} journaled once`);
    } finally {
      client.disconnect();
    }
    // The sequencer answers for them too, from its own state.
    for (const orderId of ackedByA) {
      const answers = await Promise.all([seller.direct, buyer.direct].map((c) => c<{ id?: string }>("GET", `/api/v1/orders/${orderId}`)));
      assert.ok(answers.some((a) => a.data?.id === orderId), `the sequencer has order ${orderId}`);
    }
    // Once edge B's replica is at the sequencer's last record, it shows the same book and balances.
    const seqOf = async (url: string) => ((await (await fetch(`${url}/health`)).json()) as { journalSeq: string }).journalSeq;
    await until("edge B at the sequencer's last record", async () => (await seqOf(edgeB.url)) === (await seqOf(sequencer.url)));
    const book = (c: Client) => c<{ bids: string[][]; asks: string[][] }>("GET", `/api/v3/market/orderbook/level2?symbol=${SYMBOL}`);
    const [bookB, bookSeq] = [await book(seller.viaB), await book(seller.direct)];
    assert.deepEqual([bookB.data.bids, bookB.data.asks], [bookSeq.data.bids, bookSeq.data.asks]);
    for (const t of [seller, buyer]) assert.deepEqual((await t.viaB("GET", "/api/v1/accounts")).data, (await t.direct("GET", "/api/v1/accounts")).data);
    // A restarted edge replays the journal from its start and serves the same state.
    edgeA = await spawn("edge", "edge-a");
    const again = await until("the restarted edge A at the sequencer's last record", async () => (await seqOf(edgeA.url)) === (await seqOf(sequencer.url)));
    assert.ok(again);
    for (const t of [seller, buyer]) assert.deepEqual((await t.viaA("GET", "/api/v1/accounts")).data, (await t.direct("GET", "/api/v1/accounts")).data);
    assert.equal((await seller.viaA<{ id: string }>("GET", `/api/v1/orders/${ackedByB.at(-1)}`)).data?.id ?? (await buyer.viaA<{ id: string }>("GET", `/api/v1/orders/${ackedByB.at(-1)}`)).data?.id, ackedByB.at(-1));
    console.log(`# edge A acknowledged ${ackedByA.length} orders before kill -9 (${cut} requests cut), edge B ${ackedByB.length}`);
    const health = await fetch(`${edgeB.url}/health`);
    assert.equal(health.status, 200);
  });

  it("kill -9 of the sequencer: the standby takes over behind the edges, which send it commands and forward to it", async () => {
    await sequencer.kill9();
    const newUrl = await standby.ready;
    const { seller, buyer } = traders;
    // A command sent while no one held the lease waits in sen:cmd for the new sequencer.
    const sell = await seller.viaB<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: "after-failover-sell", side: "sell", symbol: SYMBOL, type: "limit", price: "10400", size: "1" });
    assert.equal(sell.code, "200000", JSON.stringify(sell));
    const buy = await buyer.viaB<{ orderId: string }>("POST", "/api/v1/orders", { clientOid: "after-failover-buy", side: "buy", symbol: SYMBOL, type: "limit", price: "10400", size: "1" });
    assert.equal(buy.code, "200000", JSON.stringify(buy));
    const fills = await seller.viaB<{ items: Array<{ orderId: string }> }>("GET", `/api/v1/fills?symbol=${SYMBOL}`);
    assert.ok(fills.data.items.some((f) => f.orderId === sell.data.orderId), "the trade made by the new sequencer is on edge B's replica");
    const viaEdge = await fetch(`${edgeB.url}/api/v1/sen/listings`);
    assert.equal(viaEdge.status, 200);
    assert.deepEqual(await viaEdge.json(), await (await fetch(`${newUrl}/api/v1/sen/listings`)).json());
  });

  it("without a sequencer an edge answers forwarded routes 503 in the error envelope and still serves reads from its replica", async () => {
    await standby.kill9();
    const lease = new Redis(redis.url);
    try {
      // Its lease still names it for up to the lease's ttl (a dead address), then names no one: 503 both ways.
      for (const phase of ["dead address", "no lease"]) {
        if (phase === "no lease") await until("the dead sequencer's lease to expire", async () => (await lease.exists("sen:seq:lease")) === 0, 15_000);
        const r = await fetch(`${edgeB.url}/api/v1/sen/listings`);
        assert.equal(r.status, 503, phase);
        const body = (await r.json()) as { code: string; msg: string; senCode: string };
        assert.equal(body.code, "500000", phase);
        assert.equal(body.senCode, "CLUSTER_NO_SEQUENCER", phase);
        assert.match(body.msg, phase === "no lease" ? /no sequencer is active/ : /Service unavailable/, phase);
      }
    } finally {
      lease.disconnect();
    }
    const balances = await traders.seller.viaB<Array<{ currency: string }>>("GET", "/api/v1/accounts");
    assert.equal(balances.status, 200);
    assert.ok(balances.data.some((b) => b.currency === "GOLD"));
  });
});

/** A standby sequencer: running at once, serving (SEN_READY) only once it holds the lease. */
function startStandby(env: Record<string, string>): ExchangeProcess & { ready: Promise<string> } {
  const child = spawnChild(process.execPath, [path.resolve(import.meta.dirname, "../src/main.ts")], {
    env: { ...process.env, SEN_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr!.pipe(process.stderr);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const p = {
    url: "",
    child,
    ready: new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /SEN_READY (\S+)/.exec(out);
        if (m) {
          p.url = m[1];
          resolve(m[1]);
        }
      });
      void exited.then(() => reject(new Error("the standby exited before it served")));
    }),
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
  p.ready.catch(() => undefined);
  return p;
}

async function bullet(url: string, path: string): Promise<[string, string]> {
  const res = await fetch(`${url}${path}`, { method: "POST" });
  const body = (await res.json()) as { data: { token: string; instanceServers: Array<{ endpoint: string }> } };
  return [body.data.instanceServers[0].endpoint, body.data.token];
}
