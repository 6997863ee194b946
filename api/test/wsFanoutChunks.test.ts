import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, roamingRisk, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { connectWs, type WsClient, type WsMessage } from "./support/wsClient.ts";

const SYMBOL = "GOLD-VND";
const CLIENTS = 9;

/**
 * A fan-out is written a chunk of sockets per turn of the event loop (SEN_WS_FANOUT_CHUNK, 2
 * here, so every message to these 9 subscribers spans 5 turns with other work in between):
 * every subscriber still gets every message, in publication order across topics, and level2
 * stays gap-free while orders keep arriving during the fan-outs.
 */
describe("websocket fan-out in chunks", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let a: ApiCredentials;
  let b: ApiCredentials;
  let n = 0;

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain, { risk: roamingRisk(), env: { SEN_WS_FANOUT_CHUNK: "2", SEN_WS_CONFLATE_MS: "2", SEN_JOURNAL_FSYNC: "none" } });
    for (const i of [32, 33]) await chain.attest(hardhatAccount(i).address, `fanout-${i}`);
    a = await loginAndCreateKey(gw.url, hardhatAccount(32));
    b = await loginAndCreateKey(gw.url, hardhatAccount(33));
    await gw.ctx.trading.deposit(a.accountId, "GOLD", 100_000n, "fanout-dep-1");
    await gw.ctx.trading.deposit(b.accountId, "VND", 10_000_000_000n, "fanout-dep-2");
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("every subscriber gets every level2 and trade message, in the same order, gap-free", async () => {
    assert.equal(gw.ctx.config.wsFanoutChunk, 2);
    const clients: WsClient[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const bullet = (await (await fetch(`${gw.url}/api/v1/bullet-public`, { method: "POST" })).json()) as WsMessage;
      const c = await connectWs(gw.ctx.config.wsEndpoint, bullet.data.token);
      await c.subscribe(`/market/level2:${SYMBOL}`);
      await c.subscribe(`/market/match:${SYMBOL}`);
      clients.push(c);
    }
    const ka = kucoinClient(() => gw.url, a);
    const kb = kucoinClient(() => gw.url, b);
    const order = (k: typeof ka, side: "buy" | "sell", price: number, size: number) =>
      k("POST", "/api/v1/orders", { clientOid: `f${++n}`, side, symbol: SYMBOL, type: "limit", price: String(price), size: String(size) }).then((r) => assert.equal(r.code, "200000", JSON.stringify(r)));
    const from = Number(((await ka("GET", `/api/v3/market/orderbook/level2?symbol=${SYMBOL}`)).data as WsMessage).sequence);
    // Orders in flight together: their journal acknowledgements and replies land while earlier fan-outs are still being written.
    for (let round = 0; round < 4; round++) {
      await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => order(ka, "sell", 10_000 + 100 * (i % 5), 1 + (i % 3))),
        ...Array.from({ length: 6 }, (_, i) => order(kb, "buy", 10_000 + 100 * (i % 5), 2)),
      ]);
    }
    const final = (await ka("GET", `/api/v3/market/orderbook/level2?symbol=${SYMBOL}`)).data as WsMessage;
    const trades = (await ka("GET", `/api/v1/market/histories?symbol=${SYMBOL}`)).data as WsMessage[];
    assert.ok(trades.length > 0, "the flow traded");
    const lastSeq = Number(final.sequence);
    for (const c of clients) await c.next((m) => m.subject === "trade.l2update" && m.data.sequenceEnd >= lastSeq, "the last level2 change");
    // The last trade's message left with (or before) the last level2 change's; give stragglers a moment.
    await new Promise((r) => setTimeout(r, 200));

    const stream = (c: WsClient) =>
      c.messages
        .filter((m) => m.subject === "trade.l2update" || m.subject === "trade.l3match")
        .map((m) => (m.subject === "trade.l2update" ? `l2 ${m.data.sequenceStart}-${m.data.sequenceEnd}` : `match ${m.data.tradeId}`));
    const first = stream(clients[0]);
    const l2 = clients[0].messages.filter((m) => m.subject === "trade.l2update").map((m) => m.data);
    assert.ok(l2.length >= 2 && first.some((s) => s.startsWith("match")), "both topics were fanned out");
    for (const c of clients.slice(1)) assert.deepEqual(stream(c), first, "every subscriber sees the same messages in the same order");
    assert.ok(l2[0].sequenceStart <= from + 1, "level2 starts at the first change after the snapshot");
    for (let i = 1; i < l2.length; i++) assert.equal(l2[i].sequenceStart, l2[i - 1].sequenceEnd + 1, "gap in level2 sequence");
    assert.equal(l2.at(-1)!.sequenceEnd, lastSeq);
    for (const c of clients) c.ws.close();
  });
});
