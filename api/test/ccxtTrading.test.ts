import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import ccxt from "ccxt";
import { startChain, hardhatAccount, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestChainServices, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinAt, kucoinProAt as proAt, nudge } from "./support/ccxtClients.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { until } from "./support/until.ts";
import type { ChainServices } from "../src/chain/chainServices.ts";

const S = "GOLD/VND";

describe("ccxt kucoin trading against Sen: stop orders, editOrder, createOrders, deposits, fees (stock client, real gateway, real chain)", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices;
  const creds: Record<"seller" | "buyer" | "tight" | "other", ApiCredentials> = {} as never;
  const rest = {} as Record<keyof typeof creds, ReturnType<typeof kucoinAt>>;
  let sellerPro: Awaited<ReturnType<typeof proAt>>;

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain);
    services = await startTestChainServices(chain, gw.ctx);
    // Funds reach the exchange as in production: a vault deposit on chain, credited by the chain watcher.
    const plan = [
      ["seller", 14, { gold: 100n, vnd: 1_000_000n }],
      ["buyer", 15, { vnd: 5_000_000n }],
      ["tight", 16, { vnd: 85_000n }],
      ["other", 17, { vnd: 1_000_000n }],
    ] as const;
    for (const [name, idx, amounts] of plan) {
      const account = hardhatAccount(idx);
      await chain.attest(account.address, name);
      creds[name] = await loginAndCreateKey(gw.url, account);
      await chain.fundAndDeposit(idx, amounts);
      rest[name] = kucoinAt(gw.url, creds[name]);
    }
    for (const [name, , amounts] of plan) {
      await until(`${name}'s deposits`, async () => gw.ctx.trading.core.deposits(creds[name].accountId).length === Object.keys(amounts).length);
    }
    sellerPro = await proAt(gw.url, creds.seller);
    // A first trade sets the last price (the stops' and the collar's reference): 10,000.
    await rest.seller.createOrder(S, "limit", "sell", 1, 10_000);
    await rest.buyer.createOrder(S, "limit", "buy", 1, 10_000);
  });

  /** The audit trail's events of one order, in order (refusals before or without an id are found by clientOid). */
  const auditOf = async (orderId: string, clientOid?: string) => {
    await gw.ctx.audit.flush();
    const out: Array<{ type: string; ruleId?: string; detail?: unknown }> = [];
    for await (const { line } of gw.ctx.audit.log.read()) {
      const e = JSON.parse(line) as { type: string; orderId?: string; clientOid?: string; ruleId?: string; detail?: unknown };
      if (e.orderId === orderId || (clientOid !== undefined && e.orderId === undefined && e.clientOid === clientOid)) out.push(e);
    }
    return out;
  };

  after(async () => {
    await sellerPro?.close();
    await services?.stop();
    await gw?.close();
    await chain?.close();
  });

  it("fetchDeposits lists the vault deposits the chain watcher credited, with the chain reference as txid", async () => {
    const deposits = await rest.seller.fetchDeposits();
    assert.equal(deposits.length, 2);
    for (const d of deposits) {
      assert.equal(d.status, "ok");
      assert.equal(d.type, "deposit");
      assert.match(d.txid!, /^vault:0x[0-9a-fA-F]{40}:\d+$/);
    }
    const vnd = await rest.seller.fetchDeposits("VND");
    assert.deepEqual(
      vnd.map((d) => [d.currency, d.amount]),
      [["VND", 1_000_000]],
    );
    assert.equal((await rest.seller.fetchDeposits(undefined, Date.now() + 60_000)).length, 0, "since filters");
    // KuCoin pagination, and only the caller's own deposits.
    const raw = kucoinClient(() => gw.url, creds.seller);
    const page = await raw<{ totalNum: number; items: unknown[] }>("GET", "/api/v1/deposits?pageSize=1&currentPage=2");
    assert.equal(page.data.totalNum, 2);
    assert.equal(page.data.items.length, 1);
    assert.equal((await rest.buyer.fetchDeposits()).length, 1);
    const bad = await raw("GET", "/api/v1/deposits?status=DONE");
    assert.equal(bad.code, "400100");
  });

  it("fetchTradingFee reads maker and taker rates from the market catalog; trade-fees takes several symbols", async () => {
    const fee = await rest.buyer.fetchTradingFee(S);
    assert.equal(fee.maker, 0.001);
    assert.equal(fee.taker, 0.002);
    const raw = kucoinClient(() => gw.url, creds.buyer);
    const both = await raw<Array<{ symbol: string }>>("GET", "/api/v1/trade-fees?symbols=GOLD-VND,RIVER-VND");
    assert.deepEqual(
      both.data.map((f) => f.symbol),
      ["GOLD-VND", "RIVER-VND"],
    );
    assert.equal((await raw("GET", "/api/v1/trade-fees?symbols=NOPE-VND")).code, "400000");
    // ccxt 4.5.84 marks fetchTradingFees unsupported for kucoin (has.fetchTradingFees false).
    await assert.rejects(rest.buyer.fetchTradingFees(), ccxt.NotSupported);
  });

  it("creates, fetches (by id and clientOid) and cancels stop orders; they hold funds and stay out of the normal order lists", async () => {
    const ex = rest.seller;
    const stop = await ex.createOrder(S, "limit", "sell", 2, 9_000, { stopLossPrice: 9_500 });
    const byId = await ex.fetchOrder(stop.id!, S, { trigger: true });
    assert.equal(byId.status, "open");
    assert.equal(byId.triggerPrice, 9_500);
    assert.equal(byId.amount, 2);
    assert.equal((byId.info as { stop: string }).stop, "loss");
    assert.equal((await ex.fetchBalance()).GOLD?.used, 2, "a waiting stop holds what it sells");
    assert.deepEqual(
      (await ex.fetchOpenOrders(S, undefined, undefined, { trigger: true })).map((o) => o.id),
      [stop.id],
    );
    assert.equal((await ex.fetchOpenOrders(S)).length, 0, "waiting stops are not ordinary open orders");
    await assert.rejects(ex.fetchOrder(stop.id!, S), ccxt.OrderNotFound);
    await assert.rejects(ex.cancelOrder(stop.id!, S), ccxt.OrderNotFound);

    // A market entry stop with a clientOid: fetched and cancelled by it.
    const entry = await ex.createOrder(S, "market", "buy", 1, undefined, { triggerPrice: 11_000, stop: "entry", clientOid: "stop-c1" });
    const byCid = await ex.fetchOrder("", S, { trigger: true, clientOid: "stop-c1" });
    assert.equal(byCid.id, entry.id);
    assert.equal(byCid.type, "market");
    await ex.cancelOrder("", S, { trigger: true, clientOid: "stop-c1" });
    assert.equal((await ex.fetchOrder(entry.id!, S, { trigger: true })).status, "canceled");
    await assert.rejects(ex.cancelOrder("", S, { trigger: true, clientOid: "stop-c1" }), ccxt.OrderNotFound);

    // By id, then all at once (after which only the first stop's own cancel remains to see).
    const x = await ex.createOrder(S, "limit", "sell", 1, 9_000, { triggerPrice: 8_200 });
    await ex.cancelOrder(x.id!, S, { trigger: true });
    assert.equal((await ex.fetchOrder(x.id!, S, { trigger: true })).status, "canceled");
    const y = await ex.createOrder(S, "limit", "sell", 1, 9_000, { triggerPrice: 8_200 });
    const z = await ex.createOrder(S, "limit", "sell", 1, 9_000, { triggerPrice: 8_300 });
    const raw = kucoinClient(() => gw.url, creds.seller);
    const some = await raw<{ cancelledOrderIds: string[] }>("DELETE", `/api/v1/stop-order/cancel?symbol=GOLD-VND&orderIds=${y.id},ffffffffffffffffffffffff`);
    assert.deepEqual(some.data.cancelledOrderIds, [y.id], "unknown ids are left out");
    await ex.cancelAllOrders(S, { trigger: true });
    const closed = await ex.fetchClosedOrders(S, undefined, undefined, { trigger: true });
    assert.deepEqual(new Set(closed.map((o) => o.id)), new Set([stop.id, entry.id, x.id, y.id, z.id]));
    assert.ok(closed.every((o) => o.status === "canceled"));
    assert.deepEqual(
      (await ex.fetchOpenOrders(S, undefined, undefined, { trigger: true })).map((o) => o.id),
      [],
      "cancelAll took the first stop too",
    );
    assert.equal((await ex.fetchBalance()).GOLD?.used, 0);
    // Bad input changes nothing.
    const bad = await raw("POST", "/api/v1/stop-order", { clientOid: "bad-1", side: "sell", symbol: "GOLD-VND", type: "limit", price: "9000", size: "1", stop: "sideways", stopPrice: "9500" });
    assert.equal(bad.code, "400100");
    const noStop = await raw("POST", "/api/v1/stop-order", { clientOid: "bad-2", side: "sell", symbol: "GOLD-VND", type: "limit", price: "9000", size: "1" });
    assert.equal(noStop.code, "400100");
    const offTick = await raw("POST", "/api/v1/stop-order", { clientOid: "bad-3", side: "sell", symbol: "GOLD-VND", type: "limit", price: "9000", size: "1", stopPrice: "9550" });
    assert.notEqual(offTick.code, "200000");
    assert.equal((await ex.fetchOpenOrders(S, undefined, undefined, { trigger: true })).length, 0);
  });

  it("a stop triggers on a trade, becomes an ordinary order under its id and fills; watchOrders({trigger}) sees open and triggered", async () => {
    const seller = rest.seller;
    const watch = () => sellerPro.watchOrders(S, undefined, undefined, { trigger: true });
    const within = <T>(p: Promise<T>, what: string) => Promise.race([p, sleep(10_000).then(() => assert.fail(`no ${what} message`))]);
    // The subscription is live some time after the first call: stops placed and cancelled until a message comes.
    const warm = await nudge("watchOrders (advancedOrders)", watch(), async (i) => {
      const o = await seller.createOrder(S, "limit", "sell", 1, 9_000, { triggerPrice: 8_200, clientOid: `warm-${i}` });
      await seller.cancelOrder(o.id!, S, { trigger: true });
    });
    assert.ok(warm.every((o) => o.triggerPrice === 8_200 && (o.status === "open" || o.status === "canceled")));
    // KuCoin's stopOrder data: type open | triggered | cancel, orderType "stop".
    assert.ok(warm.every((o) => ["open", "cancel"].includes((o.info as { type: string }).type) && (o.info as { orderType: string }).orderType === "stop"));
    await sleep(300); // the warm-up's last messages
    const opening = watch();
    const stopId = (await seller.createOrder(S, "limit", "sell", 2, 9_000, { stopLossPrice: 9_500, clientOid: "trig-1" })).id!;
    const opened = await within(opening, "open");
    assert.ok(opened.some((o) => o.id === stopId && o.status === "open" && o.triggerPrice === 9_500), JSON.stringify(opened.map((o) => [o.id, o.status])));

    await rest.buyer.createOrder(S, "limit", "buy", 2, 9_000); // the bid the stop will sell into
    const triggered = sellerPro.watchOrders(S, undefined, undefined, { trigger: true });
    // A trade at 9,500 reaches the loss stop.
    await rest.other.createOrder(S, "limit", "buy", 1, 9_500);
    await seller.createOrder(S, "limit", "sell", 1, 9_500);
    const seen = await within(triggered, "triggered");
    assert.ok(seen.some((o) => o.id === stopId && o.status === "triggered" && (o.info as { triggerSuccess: boolean }).triggerSuccess === true), JSON.stringify(seen.map((o) => [o.id, o.status])));

    const asOrder = await until("the triggered stop filled", async () => {
      const o = await seller.fetchOrder(stopId, S);
      return o.status === "closed" && o;
    });
    assert.equal(asOrder.filled, 2);
    assert.equal(asOrder.price, 9_000);
    assert.equal(asOrder.triggerPrice, 9_500);
    assert.equal((asOrder.info as { stopTriggered: boolean }).stopTriggered, true);
    const asStop = await seller.fetchOrder(stopId, S, { trigger: true });
    assert.equal(asStop.status, "closed");
    assert.equal((asStop.info as { status: string }).status, "TRIGGERED");
    assert.ok((await seller.fetchClosedOrders(S)).some((o) => o.id === stopId), "listed with the ordinary orders once triggered");
    assert.ok((await seller.fetchMyTrades(S)).some((t) => t.order === stopId && t.amount === 2));
    const audited = await auditOf(stopId);
    const trail = audited.map((e) => e.type);
    assert.deepEqual(trail.slice(0, 2), ["order.accepted", "order.triggered"]);
    // The trigger names the trade that reached the stop price.
    const trigger = audited[1].detail as { stopPrice?: string; kind?: string; triggerPrice?: string; triggerTradeId?: string };
    assert.deepEqual([trigger.stopPrice, trigger.kind, trigger.triggerPrice], ["9500", "loss", "9500"]);
    assert.match(trigger.triggerTradeId ?? "", /^[0-9a-f]{24}$/);
    assert.ok(trail.includes("order.filled"));
  });

  it("editOrder: a size cut keeps priority, a price change loses it; a rise needs funds and a refusal leaves the order as it was", async () => {
    const buyer = rest.buyer;
    const first = await buyer.createOrder(S, "limit", "buy", 5, 9_100);
    const second = await rest.other.createOrder(S, "limit", "buy", 5, 9_100);
    const cut = await buyer.editOrder(first.id!, S, "limit", "buy", 3, 9_100);
    assert.equal(cut.id, first.id, "Sen amends in place: newOrderId is the order's own id");
    assert.equal((await buyer.fetchOrder(first.id!, S)).amount, 3);
    await rest.seller.createOrder(S, "limit", "sell", 1, 9_100);
    assert.equal((await buyer.fetchOrder(first.id!, S)).filled, 1, "still first in line after a size cut");
    await buyer.editOrder(first.id!, S, "limit", "buy", undefined, 9_200);
    await buyer.editOrder(first.id!, S, "limit", "buy", undefined, 9_100);
    await rest.seller.createOrder(S, "limit", "sell", 1, 9_100);
    assert.equal((await rest.other.fetchOrder(second.id!, S)).filled, 1, "the price change sent it behind the other bid");
    assert.equal((await buyer.fetchOrder(first.id!, S)).filled, 1);
    // By clientOid too.
    const byCid = await buyer.createOrder(S, "limit", "buy", 2, 9_000, { clientOid: "edit-c1" });
    await buyer.editOrder(byCid.id!, S, "limit", "buy", 4, undefined, { clientOid: "edit-c1" });
    assert.equal((await buyer.fetchOrder(byCid.id!, S)).amount, 4);

    // 85,000 đồng: a bid of 9 at 9,000 holds 81,162 (fee included).
    const tight = rest.tight;
    const bid = await tight.createOrder(S, "limit", "buy", 9, 9_000);
    assert.equal((await tight.fetchBalance()).VND?.used, 81_162);
    await tight.editOrder(bid.id!, S, "limit", "buy", undefined, 9_400);
    assert.equal((await tight.fetchBalance()).VND?.used, 84_770, "the hold follows the higher price");
    await assert.rejects(tight.editOrder(bid.id!, S, "limit", "buy", undefined, 9_500), ccxt.InsufficientFunds);
    await assert.rejects(tight.editOrder(bid.id!, S, "limit", "buy", 10, undefined), ccxt.InsufficientFunds);
    const unchanged = await tight.fetchOrder(bid.id!, S);
    assert.equal(unchanged.price, 9_400);
    assert.equal(unchanged.amount, 9);
    assert.equal((await tight.fetchBalance()).VND?.used, 84_770);
    await tight.editOrder(bid.id!, S, "limit", "buy", 5, undefined);
    assert.ok(((await tight.fetchBalance()).VND?.used ?? 0) < 50_000, "a smaller order holds less");
    // Not one's own, not live, or nothing to change: refused.
    await assert.rejects(rest.other.editOrder(bid.id!, S, "limit", "buy", 4, undefined), ccxt.OrderNotFound);
    const raw = kucoinClient(() => gw.url, creds.tight);
    assert.equal((await raw("POST", "/api/v1/hf/orders/alter", { symbol: "GOLD-VND", orderId: bid.id })).code, "400100");
    await tight.cancelOrder(bid.id!, S);
    await assert.rejects(tight.editOrder(bid.id!, S, "limit", "buy", 4, undefined), ccxt.OrderNotFound);
    // The audit trail has every amendment, and the refused ones with their rule, under the
    // order's id: what the compliance lifecycle of the order reads.
    await gw.ctx.audit.flush();
    const lifecycle = await until("the order's audit events indexed", async () => {
      const page = await gw.ctx.audit.index.query({ orderId: bid.id!, limit: 100, order: "asc" });
      return page.items.some((e) => e.type === "order.cancelled") ? page.items : undefined;
    });
    assert.deepEqual(
      lifecycle.map((e) => [e.type, e.ruleId ?? null]),
      [
        ["order.accepted", null],
        ["order.amended", null],
        ["order.rejected", "RISK_INSUFFICIENT_FUNDS"],
        ["order.rejected", "RISK_INSUFFICIENT_FUNDS"],
        ["order.amended", null],
        ["order.cancelled", "ENGINE_USER_CANCELLED"],
      ],
    );
  });

  it("watchOrders (tradeOrders) reports an amendment as an update with the new terms", async () => {
    const seller = rest.seller;
    const ask = await seller.createOrder(S, "limit", "sell", 3, 9_900);
    let size = 3;
    // Amend back and forth until the subscription is live and an update arrives.
    const first = await nudge("watchOrders (tradeOrders)", sellerPro.watchOrders(S), async () => {
      size = size === 3 ? 2 : 3;
      await seller.editOrder(ask.id!, S, "limit", "sell", size, undefined);
    });
    assert.ok(first.some((o) => o.id === ask.id && o.status === "open"));
    await sleep(300);
    const next = sellerPro.watchOrders(S);
    await seller.editOrder(ask.id!, S, "limit", "sell", 1, 9_800);
    const seen = await Promise.race([next, sleep(10_000).then(() => assert.fail("no update message"))]);
    const u = seen.find((o) => o.id === ask.id);
    assert.ok(u, JSON.stringify(seen.map((o) => o.id)));
    assert.equal((u.info as { type: string }).type, "update");
    assert.equal(u.status, "open");
    assert.equal(u.amount, 1);
    assert.equal(u.price, 9_800);
    await seller.cancelOrder(ask.id!, S);
  });

  it("the new routes are in the OpenAPI document, with their inputs", async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [p, method] of [
      ["/api/v1/stop-order", "post"],
      ["/api/v1/stop-order", "get"],
      ["/api/v1/stop-order/{orderId}", "get"],
      ["/api/v1/stop-order/{orderId}", "delete"],
      ["/api/v1/stop-order/queryOrderByClientOid", "get"],
      ["/api/v1/stop-order/cancelOrderByClientOid", "delete"],
      ["/api/v1/stop-order/cancel", "delete"],
      ["/api/v1/hf/orders/alter", "post"],
      ["/api/v1/orders/multi", "post"],
      ["/api/v1/deposits", "get"],
      ["/api/v1/trade-fees", "get"],
    ]) {
      assert.ok(doc.paths[p]?.[method], `${method} ${p} in /openapi.json (has ${Object.keys(doc.paths).filter((k) => k.includes("stop")).join(", ")})`);
    }
  });

  it("createOrders: each order on its own; a refused one does not stop the good one", async () => {
    const results = await rest.other.createOrders([
      { symbol: S, type: "limit", side: "buy", amount: 1, price: 8_900 },
      { symbol: S, type: "limit", side: "buy", amount: 100_000, price: 8_900 },
      { symbol: S, type: "limit", side: "buy", amount: 1, price: 8_800, params: { clientOid: "batch-3" } },
    ]);
    assert.equal(results.length, 3);
    assert.match(results[0].id!, /^[0-9a-f]{24}$/);
    assert.equal(results[1].status, "rejected");
    assert.match((results[1].info as { failMsg: string }).failMsg, /Balance insufficient/);
    assert.equal(results[2].clientOrderId, "batch-3");
    const open = await rest.other.fetchOpenOrders(S);
    assert.ok(open.some((o) => o.id === results[0].id && o.amount === 1 && o.price === 8_900), JSON.stringify([results[0].id, open.map((o) => [o.id, o.amount, o.price, o.status])]));
    assert.ok(open.some((o) => o.id === results[2].id));
    // A malformed batch is refused whole.
    const raw = kucoinClient(() => gw.url, creds.other);
    assert.equal((await raw("POST", "/api/v1/orders/multi", { symbol: "GOLD-VND", orderList: [] })).code, "400100");
  });
});

describe("stop orders, amendments and deposits survive a restart (snapshot, and the journal alone)", () => {
  let chain: ChainFixture;
  let dataDir: string;
  let gw: GatewayFixture | undefined;

  before(async () => {
    chain = await startChain();
    dataDir = mkdtempSync(path.join(tmpdir(), "sen-ccxt-restart-"));
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a waiting stop still waits and then triggers, an amended order keeps its new terms, deposits stay listed", async () => {
    gw = await startTestGateway(chain, { dataDir });
    const a = hardhatAccount(18);
    const b = hardhatAccount(19);
    await chain.attest(a.address, "restart-a");
    await chain.attest(b.address, "restart-b");
    const ca = await loginAndCreateKey(gw.url, a);
    const cb = await loginAndCreateKey(gw.url, b);
    await gw.ctx.trading.deposit(ca.accountId, "GOLD", 100n, "restart-dep-a");
    await gw.ctx.trading.deposit(cb.accountId, "VND", 5_000_000n, "restart-dep-b");
    const ex = () => [kucoinAt(gw!.url, ca), kucoinAt(gw!.url, cb)] as const;
    let [sa, sb] = ex();
    await sa.createOrder(S, "limit", "sell", 1, 10_000);
    await sb.createOrder(S, "limit", "buy", 1, 10_000); // last price 10,000
    const stop = await sa.createOrder(S, "limit", "sell", 3, 9_000, { stopLossPrice: 9_500 });
    const bid = await sb.createOrder(S, "limit", "buy", 5, 9_000);
    await sb.editOrder(bid.id!, S, "limit", "buy", 4, 9_100);
    const before = { stop: await sa.fetchOrder(stop.id!, S, { trigger: true }), bid: await sb.fetchOrder(bid.id!, S), deposits: await sb.fetchDeposits(), balances: [await sa.fetchBalance(), await sb.fetchBalance()] };
    const same = async (what: string) => {
      [sa, sb] = ex();
      const now = { stop: await sa.fetchOrder(stop.id!, S, { trigger: true }), bid: await sb.fetchOrder(bid.id!, S), deposits: await sb.fetchDeposits(), balances: [await sa.fetchBalance(), await sb.fetchBalance()] };
      assert.equal(now.stop.status, "open", what);
      assert.deepEqual([now.bid.price, now.bid.amount], [9_100, 4], what);
      assert.deepEqual(now.deposits.map((d) => [d.txid, d.amount]), before.deposits.map((d) => [d.txid, d.amount]), what);
      assert.deepEqual(now.balances.map((x) => [x.GOLD, x.VND]), before.balances.map((x) => [x.GOLD, x.VND]), what);
    };
    // From the snapshot written at a clean stop...
    await gw.close();
    gw = await startTestGateway(chain, { dataDir });
    await same("after a restart from the snapshot");
    // ...and from the journal alone.
    await gw.close();
    rmSync(path.join(dataDir, "snapshots"), { recursive: true, force: true });
    gw = await startTestGateway(chain, { dataDir });
    await same("after a replay of the whole journal");
    // The stop still triggers: a trade at 9,500, then it sells into the amended bid at 9,100.
    await sb.createOrder(S, "limit", "buy", 1, 9_500);
    await sa.createOrder(S, "limit", "sell", 1, 9_500);
    const filled = await sa.fetchOrder(stop.id!, S);
    assert.equal(filled.filled, 3);
    assert.equal((await sb.fetchOrder(bid.id!, S)).filled, 3);
  });
});
