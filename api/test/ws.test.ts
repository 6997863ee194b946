import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import ccxt from "ccxt";
import WebSocket from "ws";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, roamingRisk, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { connectWs, type WsMessage } from "./support/wsClient.ts";

const SYMBOL = "GOLD-VND";
type Msg = WsMessage;

/** One client-to-server websocket text frame (RFC 6455: clients must mask). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([header, mask, body]);
}

const connect = (gw: GatewayFixture, token: string, query = "") => connectWs(gw.ctx.config.wsEndpoint, token, query);

/** Polls a condition on state this process holds (e.g. a client library's cache) until it holds. */
async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("websocket (KuCoin protocol)", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let a: ApiCredentials;
  let b: ApiCredentials;
  let ka: ReturnType<typeof kucoinClient>;
  let kb: ReturnType<typeof kucoinClient>;
  let n = 0;
  const order = (k: ReturnType<typeof kucoinClient>, side: "buy" | "sell", price: number, size: number) =>
    k("POST", "/api/v1/orders", { clientOid: `o${++n}`, side, symbol: SYMBOL, type: "limit", price: String(price), size: String(size) }).then((r) => {
      assert.equal(r.code, "200000", JSON.stringify(r));
      return (r.data as { orderId: string }).orderId;
    });

  before(async () => {
    chain = await startChain();
    // Durability is tested elsewhere; here fsync would only slow the load the tests need.
    gw = await startTestGateway(chain, { risk: roamingRisk(), env: { SEN_WS_CONFLATE_MS: "5", SEN_WS_MAX_BUFFER: "65536", SEN_JOURNAL_FSYNC: "none" } });
    // Foreign investors: they also trade RIVER, theirs alone under NQ05-FOREIGN-ONLY.
    for (const i of [30, 31]) await chain.attest(hardhatAccount(i).address, `ws-${i}`, 2, 702);
    a = await loginAndCreateKey(gw.url, hardhatAccount(30));
    b = await loginAndCreateKey(gw.url, hardhatAccount(31));
    await gw.ctx.trading.deposit(a.accountId, "GOLD", 100_000n, "ws-dep-1");
    await gw.ctx.trading.deposit(b.accountId, "VND", 10_000_000_000n, "ws-dep-2");
    await gw.ctx.trading.deposit(a.accountId, "RIVER", 1_000n, "ws-dep-3");
    ka = kucoinClient(() => gw.url, a);
    kb = kucoinClient(() => gw.url, b);
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("welcome, ping/pong, ack, and refusal of unknown topics and bad tokens", async () => {
    const bullet = (await (await fetch(`${gw.url}/api/v1/bullet-public`, { method: "POST" })).json()) as Msg;
    assert.equal(bullet.code, "200000");
    assert.ok(bullet.data.instanceServers[0].pingInterval > 0);
    const c = await connect(gw, bullet.data.token);
    c.ws.send(JSON.stringify({ id: "p1", type: "ping" }));
    assert.equal((await c.next((m) => m.id === "p1")).type, "pong");
    await c.subscribe(`/market/level2:${SYMBOL}`);
    c.ws.send(JSON.stringify({ id: "x", type: "subscribe", topic: "/market/level2:NOPE-VND", response: true }));
    assert.equal((await c.next((m) => m.id === "x")).type, "error");
    c.ws.send(JSON.stringify({ id: "y", type: "subscribe", topic: "/spotMarket/tradeOrders", privateChannel: true, response: true }));
    assert.equal((await c.next((m) => m.id === "y")).code, 401, "private topic on a public token");
    c.ws.send("not json");
    assert.equal((await c.next((m) => m.type === "error" && String(m.data).startsWith("bad message"))).code, 400);
    c.ws.close();
    const refused = new WebSocket(`${gw.ctx.config.wsEndpoint}?token=forged`);
    await new Promise<void>((resolve) => refused.once("error", () => resolve()));
  });

  it("level2 deltas are gap-free and rebuild the REST snapshot exactly", async () => {
    const bullet = (await (await fetch(`${gw.url}/api/v1/bullet-public`, { method: "POST" })).json()) as Msg;
    const c = await connect(gw, bullet.data.token);
    await c.subscribe(`/market/level2:${SYMBOL}`);
    const snap = (await ka("GET", `/api/v3/market/orderbook/level2?symbol=${SYMBOL}`)).data as Msg;
    const book = { bids: new Map<string, string>(snap.bids.map((l: string[]) => [l[0], l[1]])), asks: new Map<string, string>(snap.asks.map((l: string[]) => [l[0], l[1]])) };
    for (let i = 0; i < 20; i++) await order(ka, "sell", 10_000 + 100 * (i % 7), 1 + i);
    for (let i = 0; i < 10; i++) await order(kb, "buy", 9_500 + 100 * (i % 4), 2);
    await order(kb, "buy", 10_200, 30); // takes several ask levels
    const final = (await ka("GET", `/api/v3/market/orderbook/level2?symbol=${SYMBOL}`)).data as Msg;
    await c.next((m) => m.subject === "trade.l2update" && m.data.sequenceEnd >= Number(final.sequence));
    const updates = c.messages.filter((m) => m.subject === "trade.l2update").map((m) => m.data);
    for (let i = 1; i < updates.length; i++) assert.equal(updates[i].sequenceStart, updates[i - 1].sequenceEnd + 1, "gap in level2 sequence");
    for (const u of updates) {
      for (const [side, key] of [
        ["bids", "bids"],
        ["asks", "asks"],
      ] as const) {
        for (const [price, size, seq] of u.changes[side] as string[][]) {
          if (Number(seq) <= Number(snap.sequence)) continue;
          if (size === "0") book[key].delete(price);
          else book[key].set(price, size);
        }
      }
    }
    const sorted = (m: Map<string, string>, desc: boolean) => [...m].sort((x, y) => (desc ? Number(y[0]) - Number(x[0]) : Number(x[0]) - Number(y[0])));
    assert.deepEqual(sorted(book.bids, true), final.bids);
    assert.deepEqual(sorted(book.asks, false), final.asks);
    c.ws.close();
  });

  it("private order and balance streams see the fill; cancel-on-disconnect cancels", async () => {
    const bullet = (await kb("POST", "/api/v1/bullet-private")).data as Msg;
    const c = await connect(gw, bullet.token);
    await c.subscribe("/spotMarket/tradeOrders", true);
    await c.subscribe("/account/balance", true);
    const sellId = await order(ka, "sell", 9_900, 3);
    const id = await order(kb, "buy", 9_900, 3);
    const filled = await c.next((m) => m.subject === "orderChange" && m.data.orderId === id && m.data.type === "filled");
    assert.equal(filled.data.filledSize, "3");
    const match = c.messages.find((m) => m.subject === "orderChange" && m.data.orderId === id && m.data.type === "match")!;
    assert.equal(match.data.matchPrice, "9900");
    assert.equal(match.data.liquidity, "taker");
    assert.ok(match.data.tradeId);
    const bal = await c.next((m) => m.subject === "account.balance" && m.data.currency === "GOLD");
    assert.ok(bal.data.relationEvent.startsWith("trade."));
    // Another account's events never reach this connection. The seller's side of the same
    // trade produced order and balance events too; after the pong all of them would be in.
    await c.barrier();
    const own = new Set(((await kb("GET", "/api/v1/orders?pageSize=500")).data.items as Msg[]).map((o) => o.id));
    assert.ok(own.has(id) && !own.has(sellId));
    const orderMsgs = c.messages.filter((m) => m.topic === "/spotMarket/tradeOrders");
    const balanceMsgs = c.messages.filter((m) => m.topic === "/account/balance");
    assert.ok(orderMsgs.length >= 3 && balanceMsgs.length >= 3, "open, match and filled; hold and two settlements");
    for (const m of orderMsgs) assert.ok(own.has(m.data.orderId), `order ${m.data.orderId} is not the buyer's`);
    for (const m of balanceMsgs) assert.equal(m.data.accountId, b.accountId);
    assert.equal(orderMsgs.length + balanceMsgs.length, c.messages.filter((m) => m.type === "message").length, "nothing but the two private topics");
    await c.close();

    // Cancel-on-disconnect, seen from another connection of the same account.
    const bulletA = (await ka("POST", "/api/v1/bullet-private")).data as Msg;
    const watcher = await connect(gw, bulletA.token);
    await watcher.subscribe("/spotMarket/tradeOrders", true);
    const cod = await connect(gw, bulletA.token, "&cancelOnDisconnect=true");
    const resting = await order(ka, "sell", 11_000, 1);
    await watcher.next((m) => m.data?.orderId === resting && m.data.type === "open", "the resting order");
    await cod.close();
    await watcher.next((m) => m.data?.orderId === resting && m.data.type === "canceled", "the cancel on disconnect");
    assert.equal(((await ka("GET", `/api/v1/orders/${resting}`)).data as Msg).isActive, false, "order cancelled when the socket closed");
    await watcher.close();
  });

  it("ticker and snapshot topics agree with REST's level1, stats and allTickers", async () => {
    // RIVER-VND has not traded here yet: its 24 h figures are exactly the trades below.
    const sym = "RIVER-VND";
    const c = await connect(gw, ((await (await fetch(`${gw.url}/api/v1/bullet-public`, { method: "POST" })).json()) as Msg).data.token);
    await c.subscribe(`/market/ticker:${sym}`);
    await c.subscribe(`/market/snapshot:${sym}`);
    const place = (k: typeof ka, side: "buy" | "sell", price: number, size: number) =>
      k("POST", "/api/v1/orders", { clientOid: `t${++n}`, side, symbol: sym, type: "limit", price: String(price), size: String(size) }).then((r) => assert.equal(r.code, "200000", JSON.stringify(r)));
    await place(ka, "sell", 20_000, 3);
    await place(kb, "buy", 20_000, 3); // 3 @ 20,000
    await place(ka, "sell", 20_300, 2);
    await place(ka, "sell", 20_500, 4);
    await place(kb, "buy", 20_500, 5); // 2 @ 20,300 and 3 @ 20,500; 1 left @ 20,500
    await place(kb, "buy", 19_800, 2);
    await place(ka, "sell", 19_800, 1); // 1 @ 19,800; 1 bid left @ 19,800
    await place(ka, "sell", 20_800, 2);

    const get = async (path: string) => (await ka("GET", path)).data as Msg;
    const level1 = await get(`/api/v1/market/orderbook/level1?symbol=${sym}`);
    const stats = await get(`/api/v1/market/stats?symbol=${sym}`);
    const all = (await get("/api/v1/market/allTickers")).ticker.find((t: Msg) => t.symbol === sym);
    assert.deepEqual(
      { price: level1.price, size: level1.size, bestBid: level1.bestBid, bestBidSize: level1.bestBidSize, bestAsk: level1.bestAsk, bestAskSize: level1.bestAskSize },
      { price: "19800", size: "1", bestBid: "19800", bestBidSize: "1", bestAsk: "20500", bestAskSize: "1" },
    );
    assert.deepEqual(
      [stats.open, stats.high, stats.low, stats.last, stats.vol, stats.volValue, stats.changePrice, stats.changeRate],
      ["20000", "20500", "19800", "19800", "9", String(3 * 20_000 + 2 * 20_300 + 3 * 20_500 + 19_800), "-200", "-0.0100"],
    );
    const withoutTime = ({ time: _, ...rest }: Msg) => rest;
    assert.deepEqual(withoutTime(all), withoutTime(stats));

    // Tickers go out on a timer after the book changes; the one at REST's sequence is final.
    const ticker = (await c.next((m) => m.subject === "trade.ticker" && m.data.sequence === level1.sequence, `the ticker at sequence ${level1.sequence}`)).data;
    assert.deepEqual(withoutTime(ticker), withoutTime(level1));
    const snap = (await c.next((m) => m.subject === "trade.snapshot" && m.data.sequence === level1.sequence, `the snapshot at sequence ${level1.sequence}`)).data.data;
    assert.equal(snap.symbol, sym);
    assert.deepEqual(
      [snap.buy, snap.sell, snap.lastTradedPrice, snap.high, snap.low, snap.vol, snap.volValue, snap.changePrice, snap.changeRate],
      [stats.buy, stats.sell, stats.last, stats.high, stats.low, stats.vol, stats.volValue, stats.changePrice, stats.changeRate],
    );
    await c.close();
  });

  it("a consumer that stops reading is cut off instead of slowing the exchange", async () => {
    const token = (await gw.ctx.bullets.issue(null, "127.0.0.1"))!;
    // A raw TCP peer that completes the websocket handshake, subscribes, then never reads
    // again (the ws client library would resume its socket by itself).
    const u = new URL(gw.ctx.config.wsEndpoint);
    const sock = net.connect(Number(u.port), u.hostname);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    let received = "";
    const readUntil = (needle: string) =>
      new Promise<void>((resolve) => {
        const onData = (d: Buffer) => {
          received += d.toString("latin1");
          if (!received.includes(needle)) return;
          sock.off("data", onData);
          resolve();
        };
        sock.on("data", onData);
      });
    const handshake = readUntil("\r\n\r\n");
    sock.write(
      `GET ${u.pathname}?token=${token} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await handshake;
    // Server frames are unmasked: the ack's JSON appears as is in the stream.
    const acked = readUntil(`{"id":"s","type":"ack"}`);
    sock.write(maskedTextFrame(JSON.stringify({ id: "s", type: "subscribe", topic: `/market/match:${SYMBOL}`, response: true })));
    await acked;
    sock.pause();
    const dropped = async () => (await gw.ctx.metrics.wsSlowConsumersDropped.get()).values[0]?.value ?? 0;
    const before = await dropped();
    // Trades in process (the same sequencer REST uses), until the kernel's socket buffers
    // (a few MB) are full and the gateway's own backlog passes the 64 KB limit. Prices stay
    // inside the volatility band.
    const t = gw.ctx.trading;
    let i = 0;
    for (; i < 60_000 && (await dropped()) === before; i++) {
      const common = { symbol: SYMBOL, type: "limit", price: 9_900 + 100 * (i % 5), size: 1, tif: "GTC", postOnly: false, stp: "CN" } as const;
      await t.placeOrder({ ...common, accountId: a.accountId, identityHash: "0xa", side: "sell", clientOid: `slow-s-${i}` });
      await t.placeOrder({ ...common, accountId: b.accountId, identityHash: "0xb", side: "buy", clientOid: `slow-b-${i}` });
    }
    assert.ok((await dropped()) > before, `slow consumer still connected after ${i} trades`);
    sock.destroy();
  });

  it("ccxt pro (kucoin) watches the book, trades and own orders", async () => {
    const ex = new ccxt.pro.kucoin({ apiKey: b.apiKey, secret: b.apiSecret, password: b.passphrase });
    const api = ex.urls.api as Record<string, string>;
    for (const k of Object.keys(api)) api[k] = gw.url;
    await ex.loadHttpProxyAgent();
    // Our own connections see the same messages ccxt gets, in the same fan-out.
    const book = await connect(gw, ((await (await fetch(`${gw.url}/api/v1/bullet-public`, { method: "POST" })).json()) as Msg).data.token);
    await book.subscribe(`/market/level2:${SYMBOL}`);
    const mine = await connect(gw, ((await kb("POST", "/api/v1/bullet-private")).data as Msg).token);
    await mine.subscribe("/spotMarket/tradeOrders", true);
    const level2 = async () => (await ka("GET", `/api/v3/market/orderbook/level2?symbol=${SYMBOL}`)).data as Msg;
    try {
      await ex.loadMarkets();
      let bookSynced = false;
      let ordersWatched = false;
      const bookP = ex.watchOrderBook("GOLD/VND").then(() => (bookSynced = true));
      const ordersP = ex.watchOrders("GOLD/VND").then(() => (ordersWatched = true));
      // Both are awaited below; should something fail first, ex.close() rejects them and that
      // must not hide the failure.
      for (const p of [bookP, ordersP]) p.catch(() => {});
      // ccxt takes its REST snapshot only after six level-2 messages of its own, and when its
      // subscription went out is not visible from here. So: one ask at a time, each in a
      // message of its own (conflation cannot merge it with the next, which is placed only
      // once this one is out), until ccxt's book is synced.
      for (let i = 0; !bookSynced; i++) {
        assert.ok(i < 60, "ccxt never synced its order book");
        await order(ka, "sell", 10_800 + 100 * (i % 8), 1);
        const seq = Number((await level2()).sequence);
        await book.next((m) => m.subject === "trade.l2update" && m.data.sequenceEnd >= seq, `level2 sequence ${seq}`);
      }
      // The state that matters: ccxt's book, once at REST's sequence, is REST's book.
      const rest = await level2();
      const ccxtBook = () => ex.orderbooks["GOLD/VND"];
      await until(`ccxt's book at sequence ${rest.sequence}`, () => (ccxtBook()?.nonce ?? 0) >= Number(rest.sequence));
      const levels = (side: string[][]) => side.map(([p, s]) => [Number(p), Number(s)]);
      assert.equal(ccxtBook().nonce, Number(rest.sequence));
      const plain = (side: number[][]) => Array.from(side, ([p, s]) => [p, s]);
      assert.deepEqual(plain(ccxtBook().asks), levels(rest.asks));
      assert.deepEqual(plain(ccxtBook().bids), levels(rest.bids));
      await bookP;

      // Likewise for the private stream: own orders placed and cancelled until ccxt reports one.
      for (let i = 0; !ordersWatched; i++) {
        assert.ok(i < 20, "ccxt never reported an order");
        const id = await order(kb, "buy", 9_700, 1);
        assert.equal((await kb("DELETE", `/api/v1/orders/${id}`)).code, "200000");
        await mine.next((m) => m.data?.orderId === id && m.data.type === "canceled", "the nudge's cancel");
      }
      await ordersP;
      const id = await order(kb, "buy", 10_800, 1);
      const ccxtOrder = () => Array.from(ex.orders ?? []).find((o) => o.id === id);
      await until("ccxt to see the buy filled", () => ccxtOrder()?.status === "closed");
      const o = ccxtOrder()!;
      assert.equal(o.symbol, "GOLD/VND");
      assert.equal(o.side, "buy");
      assert.equal(o.filled, 1);
      assert.equal(o.remaining, 0);
    } finally {
      await ex.close();
      await book.close();
      await mine.close();
    }
  });
});
