import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import ccxt from "ccxt";
import WebSocket from "ws";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { DEFAULT_RISK } from "../src/risk/types.ts";

const SYMBOL = "VGB30-VND";
type Msg = Record<string, any>;

/** One client-to-server websocket text frame (RFC 6455: clients must mask). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([header, mask, body]);
}

/** A KuCoin websocket client: connect with a bullet token, collect every message. */
async function connect(gw: GatewayFixture, token: string, extra = "") {
  const ws = new WebSocket(`${gw.ctx.config.wsEndpoint}?token=${token}&connectId=t1${extra}`);
  const messages: Msg[] = [];
  const waiters: Array<{ pred: (m: Msg) => boolean; resolve: (m: Msg) => void }> = [];
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as Msg;
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  const next = (pred: (m: Msg) => boolean, timeoutMs = 5_000) =>
    new Promise<Msg>((resolve, reject) => {
      const found = messages.find(pred);
      if (found) return resolve(found);
      const t = setTimeout(() => reject(new Error("timed out waiting for a websocket message")), timeoutMs);
      waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  await next((m) => m.type === "welcome");
  let id = 0;
  const subscribe = async (topic: string, privateChannel = false) => {
    const sid = String(++id);
    ws.send(JSON.stringify({ id: sid, type: "subscribe", topic, privateChannel, response: true }));
    await next((m) => m.id === sid && m.type === "ack");
  };
  return { ws, messages, next, subscribe };
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
    // Prices here roam far from the last trade: the collar would (rightly) refuse them.
    const risk = structuredClone(DEFAULT_RISK);
    risk.defaults.collarBps = 0;
    risk.defaults.keyRate = { burst: 10_000, perSecond: 10_000 };
    risk.defaults.accountRate = { burst: 10_000, perSecond: 10_000 };
    // Durability is tested elsewhere; here fsync would only slow the load the tests need.
    gw = await startTestGateway(chain, { risk, env: { SEN_WS_CONFLATE_MS: "5", SEN_WS_MAX_BUFFER: "65536", SEN_JOURNAL_FSYNC: "none" } });
    for (const i of [30, 31]) await chain.attest(hardhatAccount(i).address, `ws-${i}`);
    a = await loginAndCreateKey(gw.url, hardhatAccount(30));
    b = await loginAndCreateKey(gw.url, hardhatAccount(31));
    await gw.ctx.trading.deposit(a.accountId, "VGB30", 100_000n, "ws-dep-1");
    await gw.ctx.trading.deposit(b.accountId, "VND", 10_000_000_000n, "ws-dep-2");
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
    await order(ka, "sell", 9_900, 3);
    const id = await order(kb, "buy", 9_900, 3);
    const filled = await c.next((m) => m.subject === "orderChange" && m.data.orderId === id && m.data.type === "filled");
    assert.equal(filled.data.filledSize, "3");
    const match = c.messages.find((m) => m.subject === "orderChange" && m.data.orderId === id && m.data.type === "match")!;
    assert.equal(match.data.matchPrice, "9900");
    assert.equal(match.data.liquidity, "taker");
    assert.ok(match.data.tradeId);
    const bal = await c.next((m) => m.subject === "account.balance" && m.data.currency === "VGB30");
    assert.ok(bal.data.relationEvent.startsWith("trade."));
    // another account's events never reach this connection
    assert.ok(c.messages.filter((m) => m.subject === "orderChange").every((m) => m.data.orderId !== undefined && m.topic === "/spotMarket/tradeOrders"));
    c.ws.close();

    const bulletA = (await ka("POST", "/api/v1/bullet-private")).data as Msg;
    const cod = await connect(gw, bulletA.token, "&cancelOnDisconnect=true");
    const resting = await order(ka, "sell", 11_000, 1);
    cod.ws.close();
    let status = "";
    for (let i = 0; i < 50 && status !== "done"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const o = (await ka("GET", `/api/v1/orders/${resting}`)).data as Msg;
      status = o.isActive ? "active" : "done";
    }
    assert.equal(status, "done", "order cancelled when the socket closed");
  });

  it("a consumer that stops reading is cut off instead of slowing the exchange", async () => {
    const token = gw.ctx.bullets.issue(null);
    // A raw TCP peer that completes the websocket handshake, subscribes, then never reads
    // again (the ws client library would resume its socket by itself).
    const u = new URL(gw.ctx.config.wsEndpoint);
    const sock = net.connect(Number(u.port), u.hostname);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    sock.write(
      `GET ${u.pathname}?token=${token} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await new Promise<void>((resolve) => sock.once("data", () => resolve()));
    sock.write(maskedTextFrame(JSON.stringify({ id: "s", type: "subscribe", topic: `/market/match:${SYMBOL}`, response: false })));
    await new Promise((r) => setTimeout(r, 100));
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
    try {
      await ex.loadMarkets();
      const bookP = ex.watchOrderBook("VGB30/VND");
      const ordersP = ex.watchOrders("VGB30/VND");
      await new Promise((r) => setTimeout(r, 300));
      // ccxt syncs with its REST snapshot after six level2 messages: space the orders out so
      // that conflation does not merge them into fewer messages
      for (let i = 0; i < 8; i++) {
        await order(ka, "sell", 10_800 + 100 * i, 1);
        await new Promise((r) => setTimeout(r, 30));
      }
      const book = await bookP;
      assert.ok(book.asks.length > 0);
      assert.ok((book.nonce ?? 0) > 0);
      await order(kb, "buy", 10_800, 1);
      const orders = await ordersP;
      assert.ok(orders.length >= 1);
      assert.equal(orders[0].symbol, "VGB30/VND");
    } finally {
      await ex.close();
    }
  });
});
