import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import ccxt from "ccxt";
import { startChain, hardhatAccount, type ChainFixture } from "./support/chainFixture.ts";
import { kucoinAt } from "./support/ccxtClients.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";


describe("ccxt kucoin against Sen (unchanged client, real gateway, real chain)", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let seller: ReturnType<typeof kucoinAt>;
  let buyer: ReturnType<typeof kucoinAt>;
  let sellerCreds: ApiCredentials;
  let buyerCreds: ApiCredentials;

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain);
    const a = hardhatAccount(10);
    const b = hardhatAccount(11);
    await chain.attest(a.address, "seller");
    await chain.attest(b.address, "buyer");
    sellerCreds = await loginAndCreateKey(gw.url, a);
    buyerCreds = await loginAndCreateKey(gw.url, b);
    // Funds arrive the way the chain watcher credits them (issue #6): one journaled deposit each.
    await gw.ctx.trading.deposit(sellerCreds.accountId, "GOLD", 1_000n, "test-dep-1");
    await gw.ctx.trading.deposit(buyerCreds.accountId, "VND", 50_000_000n, "test-dep-2");
    seller = kucoinAt(gw.url, sellerCreds);
    buyer = kucoinAt(gw.url, buyerCreds);
  });

  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("loads markets and currencies with Sen's increments and limits", async () => {
    const markets = await buyer.loadMarkets();
    const m = markets["GOLD/VND"];
    assert.ok(m, "GOLD/VND listed");
    assert.equal(m.id, "GOLD-VND");
    assert.equal(m.precision.price, 100);
    assert.equal(m.precision.amount, 1);
    assert.equal(m.limits.amount?.min, 1);
    assert.ok(markets["RIVER/VND"]);
    assert.equal(typeof (await buyer.fetchTime()), "number");
    assert.equal((await buyer.fetchStatus()).status, "ok");
  });

  it("reads balances", async () => {
    const bal = await buyer.fetchBalance();
    assert.equal(bal.VND?.free, 50_000_000);
    assert.equal(bal.VND?.used, 0);
    const sb = await seller.fetchBalance();
    assert.equal(sb.GOLD?.total, 1_000);
  });

  it("places a limit order and sees it in the book, the ticker and the open orders", async () => {
    await seller.loadMarkets();
    const order = await seller.createOrder("GOLD/VND", "limit", "sell", 10, 10_000);
    assert.match(order.id!, /^[0-9a-f]{24}$/);
    const book = await buyer.fetchOrderBook("GOLD/VND");
    assert.deepEqual(book.asks[0], [10_000, 10]);
    const book20 = await buyer.fetchOrderBook("GOLD/VND", 20);
    assert.deepEqual(book20.asks[0], [10_000, 10]);
    const open = await seller.fetchOpenOrders("GOLD/VND");
    assert.equal(open.length, 1);
    assert.equal(open[0].id, order.id);
    assert.equal(open[0].status, "open");
    const fetched = await seller.fetchOrder(order.id!, "GOLD/VND");
    assert.equal(fetched.amount, 10);
    assert.equal(fetched.price, 10_000);
    const ticker = await buyer.fetchTicker("GOLD/VND");
    assert.equal(ticker.ask, 10_000);
    const sb = await seller.fetchBalance();
    assert.equal(sb.GOLD?.used, 10);
  });

  it("fills market orders by amount and by cost, with fees, fills and trades", async () => {
    const m1 = await buyer.createOrder("GOLD/VND", "market", "buy", 4);
    const o1 = await buyer.fetchOrder(m1.id!, "GOLD/VND");
    assert.equal(o1.status, "closed");
    assert.equal(o1.filled, 4);
    assert.equal(o1.cost, 40_000);
    const m2 = await buyer.createMarketBuyOrderWithCost("GOLD/VND", 20_000);
    const o2 = await buyer.fetchOrder(m2.id!, "GOLD/VND");
    assert.equal(o2.filled, 2);

    const mine = await buyer.fetchMyTrades("GOLD/VND");
    assert.equal(mine.length, 2);
    assert.ok(mine.every((t) => t.side === "buy" && t.takerOrMaker === "taker" && t.price === 10_000));
    assert.equal(mine.reduce((s, t) => s + (t.fee?.cost ?? 0), 0), 120); // 20 bps of 60,000 đồng
    const sellerFills = await seller.fetchMyTrades("GOLD/VND");
    assert.ok(sellerFills.every((t) => t.takerOrMaker === "maker"));

    const bal = await buyer.fetchBalance();
    assert.equal(bal.GOLD?.free, 6);
    assert.equal(bal.VND?.total, 50_000_000 - 60_000 - 120);
    const trades = await buyer.fetchTrades("GOLD/VND");
    assert.equal(trades.length, 2);
    // One candle per minute that had trades (the two may fall either side of a minute's end).
    const perMinute = new Map<number, number>();
    for (const t of mine) {
      const minute = t.timestamp! - (t.timestamp! % 60_000);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + t.amount!);
    }
    const candles = await buyer.fetchOHLCV("GOLD/VND", "1m");
    assert.deepEqual(
      candles.map((c) => [c[0], c[5]]), // open time, volume
      [...perMinute].sort((x, y) => x[0] - y[0]),
    );
  });

  it("cancels, and lists closed orders", async () => {
    const [open] = await seller.fetchOpenOrders("GOLD/VND");
    assert.equal(open.remaining, 4);
    await seller.cancelOrder(open.id!, "GOLD/VND");
    const after = await seller.fetchOrder(open.id!, "GOLD/VND");
    assert.equal(after.status, "canceled");
    assert.equal((await seller.fetchOpenOrders("GOLD/VND")).length, 0);
    const closed = await seller.fetchClosedOrders("GOLD/VND");
    assert.ok(closed.some((o) => o.id === open.id));
    const sb = await seller.fetchBalance();
    assert.equal(sb.GOLD?.used, 0);
    assert.equal(sb.GOLD?.total, 1_000 - 6);
    const limit = await seller.createOrder("GOLD/VND", "limit", "sell", 1, 10_500, { clientOid: "my-order-1" });
    await seller.cancelAllOrders("GOLD/VND");
    assert.equal((await seller.fetchOrder(limit.id!, "GOLD/VND")).status, "canceled");
  });

  it("maps refusals to ccxt's error classes", async () => {
    await assert.rejects(buyer.createOrder("GOLD/VND", "limit", "buy", 100_000, 10_000), ccxt.InsufficientFunds);
    await assert.rejects(buyer.cancelOrder("ffffffffffffffffffffffff", "GOLD/VND"), ccxt.OrderNotFound);
    const forged = kucoinAt(gw.url, { ...buyerCreds, apiSecret: "00000000-0000-4000-8000-000000000000" });
    await assert.rejects(forged.fetchBalance(), ccxt.AuthenticationError);
    // the seller can never see or cancel the buyer's orders
    const o = await buyer.createOrder("GOLD/VND", "limit", "buy", 1, 9_900);
    await assert.rejects(seller.fetchOrder(o.id!, "GOLD/VND"), ccxt.OrderNotFound);
    await assert.rejects(seller.cancelOrder(o.id!, "GOLD/VND"), ccxt.OrderNotFound);
    await buyer.cancelOrder(o.id!, "GOLD/VND");
  });
});
