import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { mulberry32 } from "./support/mulberry32.ts";
import { connectWs, type WsClient, type WsMessage } from "./support/wsClient.ts";
import { DEFAULT_RISK } from "../src/risk/types.ts";

const SYMBOL = "GOLD-VND";

type Trader = { name: string; creds: ApiCredentials; rest: ReturnType<typeof kucoinClient>; ws: WsClient };

describe("private websocket streams of two traders", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  const traders: Trader[] = [];

  before(async () => {
    chain = await startChain();
    const risk = structuredClone(DEFAULT_RISK);
    risk.defaults.keyRate = { burst: 10_000, perSecond: 10_000 };
    risk.defaults.accountRate = { burst: 10_000, perSecond: 10_000 };
    gw = await startTestGateway(chain, { risk, env: { SEN_JOURNAL_FSYNC: "none" } });
    for (const [i, name] of [
      [32, "X"],
      [33, "Y"],
    ] as const) {
      await chain.attest(hardhatAccount(i).address, `ws-private-${i}`);
      const creds = await loginAndCreateKey(gw.url, hardhatAccount(i));
      await gw.ctx.trading.deposit(creds.accountId, "GOLD", 10_000n, `wsp-${i}-gold`);
      await gw.ctx.trading.deposit(creds.accountId, "VND", 1_000_000_000n, `wsp-${i}-cash`);
      const rest = kucoinClient(() => gw.url, creds);
      const bullet = (await rest("POST", "/api/v1/bullet-private")).data as WsMessage;
      const ws = await connectWs(gw.ctx.config.wsEndpoint, bullet.token);
      await ws.subscribe("/spotMarket/tradeOrders", true);
      await ws.subscribe("/account/balance", true);
      traders.push({ name, creds, rest, ws });
    }
  });
  after(async () => {
    for (const t of traders) await t.ws.close();
    await gw?.close();
    await chain?.close();
  });

  it("each connection gets every message of its own account and none of the other's", async () => {
    const rand = mulberry32(20_240_611);
    const pick = (n: number) => Math.floor(rand() * n);
    let oid = 0;
    const counts = { limit: 0, market: 0, cancel: 0, cancelAll: 0 };
    for (let step = 0; step < 90; step++) {
      const t = traders[pick(2)];
      const r = rand();
      if (r < 0.6) {
        // A few price levels around 10,000 so that the two traders cross often, each other
        // and (refused by self-trade prevention) themselves.
        const side = rand() < 0.5 ? "buy" : "sell";
        const price = 9_800 + 100 * pick(5);
        const reply = await t.rest("POST", "/api/v1/orders", { clientOid: `p${++oid}`, side, symbol: SYMBOL, type: "limit", price: String(price), size: String(1 + pick(5)) });
        assert.equal(reply.code, "200000", JSON.stringify(reply));
        counts.limit++;
      } else if (r < 0.7) {
        const side = rand() < 0.5 ? "buy" : "sell";
        const reply = await t.rest("POST", "/api/v1/orders", { clientOid: `p${++oid}`, side, symbol: SYMBOL, type: "market", size: String(1 + pick(3)) });
        assert.equal(reply.code, "200000", JSON.stringify(reply));
        counts.market++;
      } else if (r < 0.92) {
        const open = (await t.rest("GET", `/api/v1/orders?status=active&pageSize=500`)).data.items as WsMessage[];
        if (open.length === 0) continue;
        const reply = await t.rest("DELETE", `/api/v1/orders/${open[pick(open.length)].id}`);
        assert.equal(reply.code, "200000", JSON.stringify(reply));
        counts.cancel++;
      } else {
        assert.equal((await t.rest("DELETE", `/api/v1/orders?symbol=${SYMBOL}`)).code, "200000");
        counts.cancelAll++;
      }
    }
    // Private messages are sent before the REST reply that caused them: after these pongs,
    // every message either connection will ever get for the script above is in.
    for (const t of traders) await t.ws.barrier();

    let trades = 0;
    for (const t of traders) {
      const orders = (await t.rest("GET", "/api/v1/orders?pageSize=500")).data.items as WsMessage[];
      const fills = (await t.rest("GET", "/api/v1/fills?pageSize=500")).data.items as WsMessage[];
      const balances = (await t.rest("GET", "/api/v1/accounts")).data as WsMessage[];
      assert.ok(orders.length < 500 && fills.length < 500, "one page holds everything");
      trades += fills.length;
      const orderMsgs = t.ws.messages.filter((m) => m.topic === "/spotMarket/tradeOrders");
      const balanceMsgs = t.ws.messages.filter((m) => m.topic === "/account/balance");
      assert.equal(orderMsgs.length + balanceMsgs.length, t.ws.messages.filter((m) => m.type === "message").length, `${t.name}: only the two subscribed topics`);

      // Orders: KuCoin's orderChange carries no account, so ownership is the order id's.
      const mine = new Map(orders.map((o) => [o.id as string, o]));
      for (const m of orderMsgs) {
        assert.ok(mine.has(m.data.orderId), `${t.name} got order ${m.data.orderId}, which is not its own`);
        assert.equal(m.subject, "orderChange");
        assert.equal(m.channelType, "private");
      }
      let done = 0;
      for (const o of orders) {
        const msgs = orderMsgs.filter((m) => m.data.orderId === o.id).map((m) => m.data);
        const what = `${t.name} order ${o.id} (${o.type} ${o.side} ${o.dealSize}/${o.size})`;
        assert.equal(msgs.filter((d) => d.type === "open").length, 1, `${what}: one open`);
        const ownFills = fills.filter((f) => f.orderId === o.id);
        const matches = msgs.filter((d) => d.type === "match");
        assert.deepEqual(matches.map((d) => d.tradeId).sort(), ownFills.map((f) => f.tradeId).sort(), `${what}: one match per fill`);
        for (const d of matches) {
          const f = ownFills.find((x) => x.tradeId === d.tradeId)!;
          assert.deepEqual([d.matchPrice, d.matchSize, d.liquidity, d.fee], [f.price, f.size, f.liquidity, f.fee], `${what}: match ${d.tradeId}`);
        }
        const ends = msgs.filter((d) => d.type === "filled" || d.type === "canceled");
        if (o.isActive) assert.equal(ends.length, 0, `${what}: still open`);
        else {
          done++;
          assert.deepEqual(ends.map((d) => d.type), [o.dealSize === o.size ? "filled" : "canceled"], `${what}: one final message`);
        }
        assert.equal(msgs.at(-1)!.filledSize, o.dealSize, `${what}: last message is current`);
      }
      assert.equal(orderMsgs.length, orders.length + fills.length + done, `${t.name}: nothing but open, match and the final message`);

      // Balances carry the account: every one is this connection's.
      for (const m of balanceMsgs) {
        assert.equal(m.data.accountId, t.creds.accountId, `${t.name} got another account's balance`);
        assert.equal(m.subject, "account.balance");
      }
      // Each fill moves both currencies of the account once.
      assert.equal(balanceMsgs.filter((m) => m.data.relationEvent === "trade.setted").length, 2 * fills.length, `${t.name}: settlement messages`);
      assert.ok(balanceMsgs.filter((m) => m.data.relationEvent === "trade.hold").length >= orders.length, `${t.name}: a hold message per order at least`);
      for (const currency of ["VND", "GOLD"]) {
        const last = balanceMsgs.filter((m) => m.data.currency === currency).at(-1)?.data;
        const b = balances.find((x) => x.currency === currency)!;
        assert.ok(last, `${t.name}: a ${currency} balance message`);
        assert.deepEqual([last.total, last.available, last.hold], [b.balance, b.available, b.holds], `${t.name}: the last ${currency} message is REST's balance`);
      }
      // The script exercised what it claims to.
      assert.ok(fills.some((f) => f.liquidity === "maker") && fills.some((f) => f.liquidity === "taker"), `${t.name}: fills on both sides of the book`);
      assert.ok(orders.some((o) => !o.isActive && o.dealSize !== o.size), `${t.name}: cancelled orders`);
    }
    assert.ok(trades > 20 && counts.market > 0 && counts.cancel > 0 && counts.cancelAll > 0, JSON.stringify({ trades, ...counts }));
  });
});
