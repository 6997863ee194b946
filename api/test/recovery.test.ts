import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { spawnExchange, type ExchangeProcess } from "./support/exchangeProcess.ts";
import { getJson, loginAndCreateKey, postJson } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { redisServerPath, startRedis, type RedisServer } from "./support/redisServer.ts";

const SYMBOL = "GOLD-VND";
const DEPOSIT = { asset: 1_000_000n, cash: 1_000_000_000_000n };

type Order = { id: string; clientOid: string; isActive: boolean; size: string; dealSize: string; side: string; cancelExist: boolean };

/**
 * kill -9 of the gateway during a load run, then restart: every acknowledged order is there,
 * none twice, value is conserved, and a second crash+restart yields the identical state.
 */
async function crashDuringLoad(chain: ChainFixture, extraEnv: Record<string, string>) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "sen-crash-"));
  const operator = hardhatAccount(17); // #12 holds the tax account
  const env = {
    SEN_CHAIN_RPC: chain.rpcUrl!,
    SEN_DEPLOYMENT: chain.deploymentFile!,
    SEN_DATA_DIR: dataDir,
    SEN_OPERATORS: operator.address.toLowerCase(),
    SEN_COMPLIANCE: hardhatAccount(15).address.toLowerCase(),
    // The in-process chain never reorganises: e-IDs attested just before count at once.
    SEN_CONFIRMATIONS: "0",
    ...extraEnv,
  };
  let ex: ExchangeProcess = await spawnExchange(env);
  try {
    const seller = await loginAndCreateKey(ex.url, hardhatAccount(13));
    const buyer = await loginAndCreateKey(ex.url, hardhatAccount(14));
    const op = await loginAndCreateKey(ex.url, operator);
    await postJson(`${ex.url}/api/v1/sen/operator/deposits`, { accountId: seller.accountId, currency: "GOLD", amount: DEPOSIT.asset.toString(), ref: "dep-s" }, op.token);
    await postJson(`${ex.url}/api/v1/sen/operator/deposits`, { accountId: buyer.accountId, currency: "VND", amount: DEPOSIT.cash.toString(), ref: "dep-b" }, op.token);

    const url = () => ex.url;
    const clients = { s: kucoinClient(url, seller), b: kucoinClient(url, buyer) };
    const acked = new Map<string, { orderId: string; who: "s" | "b" }>(); // by clientOid
    let sent = 0;
    let killed = false;
    const killAfter = 150 + Math.floor(Math.random() * 100);

    async function worker(w: number) {
      for (let i = 0; !killed && i < 1000; i++) {
        const side = (w + i) % 2 === 0 ? "sell" : "buy";
        const clientOid = `w${w}-${i}`;
        const price = String(9_800 + 100 * ((w * 7 + i * 3) % 5));
        sent++;
        try {
          const who = side === "sell" ? "s" : "b";
          const r = await clients[who]("POST", "/api/v1/orders", { clientOid, side, symbol: SYMBOL, type: "limit", price, size: String(1 + ((i + w) % 9)) });
          if (r.code === "200000") acked.set(clientOid, { orderId: (r.data as { orderId: string }).orderId, who });
        } catch {
          // connection cut by the crash: the order may or may not have been journaled
        }
        if (acked.size >= killAfter && !killed) {
          killed = true;
          await ex.kill9();
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    assert.ok(killed, `the gateway was killed mid-load (acked ${acked.size}, sent ${sent})`);
    assert.ok(acked.size >= killAfter && sent > acked.size, `acked ${acked.size} of ${sent}`);

    ex = await spawnExchange(env);
    // Every acknowledged order survived, under the same exchange id.
    for (const [clientOid, { orderId, who }] of acked) {
      const r = await clients[who]("GET", `/api/v1/order/client-order/${clientOid}`);
      assert.equal(r.code, "200000", `acked order ${clientOid} lost`);
      assert.equal((r.data as Order).id, orderId);
    }
    const state1 = await captureState(clients);
    await assertAuditComplete(ex.url, [...acked.values()].map((a) => a.orderId));
    // None duplicated: one order per clientOid.
    for (const orders of [state1.ordersS, state1.ordersB]) {
      const oids = orders.map((o) => o.clientOid);
      assert.equal(new Set(oids).size, oids.length, "duplicate order after recovery");
    }
    // Conservation: what the two traders hold plus fees and the tax withheld is exactly what was deposited.
    const fees = [...state1.fillsS, ...state1.fillsB].reduce((s, f) => s + BigInt(f.fee) + BigInt(f.tax), 0n);
    assert.equal(BigInt(state1.balS.GOLD.balance) + BigInt(state1.balB.GOLD.balance), DEPOSIT.asset);
    assert.equal(BigInt(state1.balS.VND.balance) + BigInt(state1.balB.VND.balance) + fees, DEPOSIT.cash);
    // The seller's asset hold is exactly its open sell orders' remaining size.
    const openSellRemaining = state1.ordersS.filter((o) => o.isActive).reduce((s, o) => s + BigInt(o.size) - BigInt(o.dealSize), 0n);
    assert.equal(BigInt(state1.balS.GOLD.holds), openSellRemaining);
    // The book never crossed.
    const book = state1.book;
    if (book.bids.length && book.asks.length) assert.ok(Number(book.bids[0][0]) < Number(book.asks[0][0]));

    // A second crash while idle, and restart: the identical state (recovery is deterministic).
    await ex.kill9();
    ex = await spawnExchange(env);
    const state2 = await captureState(clients);
    assert.deepEqual(state2, state1);

    // And it keeps trading, with fresh ids.
    const r = await clients.s("POST", "/api/v1/orders", { clientOid: "after-restart", side: "sell", symbol: SYMBOL, type: "limit", price: "10500", size: "1" });
    assert.equal(r.code, "200000", JSON.stringify(r));
    assert.ok(![...acked.values()].some((a) => a.orderId === (r.data as { orderId: string }).orderId));
    return { acked: acked.size, sent };
  } finally {
    await ex.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The audit trail lags the journal by a flush interval, so a kill -9 can cut it short; the
 * restart must fill the gap from the journal: every acknowledged order has exactly one
 * `order.accepted` event, and the log still verifies against its signed checkpoints.
 */
async function assertAuditComplete(url: string, orderIds: string[]) {
  const officer = await loginAndCreateKey(url, hardhatAccount(15), ["General"]);
  const accepted = new Map<string, number>();
  let cursor = "";
  for (;;) {
    const page = (await getJson(`${url}/api/v1/compliance/events?type=order.accepted&order=asc&limit=1000${cursor ? `&cursor=${cursor}` : ""}`, officer.token)) as { items: Array<{ orderId: string }>; nextCursor?: string };
    for (const e of page.items) accepted.set(e.orderId, (accepted.get(e.orderId) ?? 0) + 1);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  for (const id of orderIds) assert.equal(accepted.get(id), 1, `order ${id}: ${accepted.get(id) ?? 0} order.accepted events after recovery`);
  const status = (await getJson(`${url}/api/v1/compliance/audit/status`, officer.token)) as { verified: boolean };
  assert.equal(status.verified, true);
}

async function captureState(clients: Record<"s" | "b", ReturnType<typeof kucoinClient>>) {
  const get = async <T>(c: ReturnType<typeof kucoinClient>, p: string) => {
    const r = await c<T>("GET", p);
    assert.equal(r.code, "200000", `${p}: ${JSON.stringify(r)}`);
    return r.data;
  };
  const balances = async (c: ReturnType<typeof kucoinClient>) =>
    Object.fromEntries((await get<Array<{ currency: string; balance: string; available: string; holds: string }>>(c, "/api/v1/accounts")).map((a) => [a.currency, a]));
  const orders = async (c: ReturnType<typeof kucoinClient>) =>
    (await get<{ items: Order[] }>(c, "/api/v1/orders?pageSize=500")).items.sort((x, y) => x.id.localeCompare(y.id));
  const fills = async (c: ReturnType<typeof kucoinClient>) => (await get<{ items: Array<{ tradeId: string; fee: string; tax: string }> }>(c, "/api/v1/fills?pageSize=500")).items;
  const book = await get<{ sequence: string; bids: string[][]; asks: string[][] }>(clients.s, `/api/v3/market/orderbook/level2?symbol=${SYMBOL}`);
  return {
    balS: await balances(clients.s),
    balB: await balances(clients.b),
    ordersS: await orders(clients.s),
    ordersB: await orders(clients.b),
    fillsS: await fills(clients.s),
    fillsB: await fills(clients.b),
    book: { sequence: book.sequence, bids: book.bids, asks: book.asks },
  };
}

describe("crash recovery (kill -9 during load)", () => {
  let chain: ChainFixture;
  before(async () => {
    chain = await startChain({ serve: true });
    for (const [i, label] of [
      [17, "operator"],
      [13, "seller"],
      [14, "buyer"],
      [15, "officer"],
    ] as const) {
      await chain.attest(hardhatAccount(i).address, label);
    }
  });
  after(async () => {
    await chain?.close();
  });

  it("file journal: no acknowledged order lost, none duplicated, same state after restart", async () => {
    const r = await crashDuringLoad(chain, { SEN_JOURNAL_FSYNC: "always", SEN_SNAPSHOT_EVERY: "97", SEN_SNAPSHOT_SPACING: "fixed" });
    assert.ok(r.acked > 0);
  });

  it("Redis Streams journal: the same, against a real redis-server", async (t) => {
    if (!redisServerPath()) {
      t.skip("redis-server not installed (apt-get install redis-server)");
      return;
    }
    const redis: RedisServer = await startRedis();
    try {
      const r = await crashDuringLoad(chain, { REDIS_URL: redis.url, SEN_SNAPSHOT_EVERY: "97", SEN_SNAPSHOT_SPACING: "fixed" });
      assert.ok(r.acked > 0);
    } finally {
      await redis.stop();
    }
  });
});
