import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { signKucoinRequest } from "../src/auth/kucoinSignature.ts";
import { createSharedState, SHARED_REDIS_OPTIONS, type SharedState } from "../src/auth/sharedState.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { siweLogin } from "./support/httpProbe.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { redisServerPath, startRedis, type RedisServer } from "./support/redisServer.ts";
import { connectWs } from "./support/wsClient.ts";

const skip = redisServerPath() === null ? "redis-server not installed" : undefined;
if (skip) console.log(`# skipping shared-state gateway test: ${skip}`);

type Reply = { status: number; body: { code: string; msg?: string; senCode?: string; data?: unknown } };

/**
 * The API boundary of a split-role gateway (SEN_ROLE=sequencer: its sessions, keys, replay
 * guard, websocket tokens and public buckets in Redis), next to a second process's view of
 * the same Redis ("edge B", the shared stores alone). What one accepts the other knows, and
 * when Redis stalls the gateway refuses with the usual KuCoin envelope (503, code 500000)
 * instead of letting a request through unchecked.
 */
describe("gateway on the shared (Redis) stores", { skip, timeout: 120_000 }, () => {
  let chain: ChainFixture;
  let redis: RedisServer;
  let gw: GatewayFixture;
  let edgeB: SharedState;
  let connection: Redis;
  let creds: ApiCredentials;
  const trader = hardhatAccount(21);
  const masterKey = randomBytes(32).toString("hex");

  const signed = (pathWithQuery: string, timestamp = Date.now()) => signKucoinRequest({ method: "GET", pathWithQuery, ...creds, timestamp });
  async function get(path: string, headers: Record<string, string>): Promise<Reply> {
    const res = await fetch(gw.url + path, { headers });
    return { status: res.status, body: (await res.json()) as Reply["body"] };
  }

  before(async () => {
    redis = await startRedis();
    chain = await startChain();
    await chain.attest(trader.address, "shared-state-trader");
    gw = await startTestGateway(chain, { env: { SEN_ROLE: "sequencer", REDIS_URL: redis.url, SEN_MASTER_KEY: masterKey } });
    connection = new Redis(redis.url, SHARED_REDIS_OPTIONS);
    connection.on("error", () => {});
    edgeB = await createSharedState({ role: "edge", nodeId: "edge-b", masterKeyHex: masterKey }, connection);
    creds = await loginAndCreateKey(gw.url, trader);
  });
  after(async () => {
    await redis?.resume();
    await gw?.close();
    await edgeB?.close();
    connection?.disconnect();
    await redis?.stop();
  });

  it("the session and key made through the gateway are the other process's too", async () => {
    const principal = await edgeB.sessions.sessionFromToken(creds.token);
    assert.equal(principal.accountId, trader.address.toLowerCase());
    const credentials = await edgeB.keys.credentials(creds.apiKey);
    assert.equal(credentials?.secret, creds.apiSecret);
  });

  it("a session signed out at the gateway is refused by the other process; the account's other session stays", async () => {
    const second = await siweLogin(gw.url, trader);
    assert.equal(second.code, "200000", second.msg);
    assert.equal((await edgeB.sessions.sessionFromToken(second.data.token)).accountId, trader.address.toLowerCase());
    const out = await fetch(`${gw.url}/api/v1/sen/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${second.data.token}` } });
    assert.deepEqual(await out.json(), { code: "200000", data: { sessions: 1 } });
    await assert.rejects(edgeB.sessions.sessionFromToken(second.data.token), (e: Error & { code?: string }) => e.code === "AUTH_BAD_SESSION");
    assert.equal((await edgeB.sessions.sessionFromToken(creds.token)).accountId, trader.address.toLowerCase());
  });

  it("a signature accepted by the other process is a replay at the gateway, with the single process's envelope", async () => {
    const headers = signed("/api/v1/accounts");
    assert.equal(await edgeB.replay.remember(creds.apiKey, headers["KC-API-SIGN"], Number(headers["KC-API-TIMESTAMP"])), true);
    const replayed = await get("/api/v1/accounts", headers);
    assert.deepEqual(replayed, { status: 401, body: { code: "400005", msg: "Signature error: request replayed", senCode: "AUTH_REPLAYED" } });
    const fresh = await get("/api/v1/accounts", signed("/api/v1/accounts", Date.now() + 1));
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body.code, "200000");
  });

  it("a websocket token taken at the gateway resolves at the other process; revoking the key there closes the gateway's socket", async () => {
    const bullet = await kucoinClient(() => gw.url, creds)<{ token: string }>("POST", "/api/v1/bullet-private");
    assert.equal(bullet.code, "200000", JSON.stringify(bullet));
    assert.equal((await edgeB.bullets.resolve(bullet.data.token))?.principal?.apiKeyId, creds.apiKey);
    const socket = await connectWs(gw.ctx.config.wsEndpoint, bullet.data.token);
    const closed = new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the socket stayed open")), 10_000);
      socket.ws.once("close", (code: number) => (clearTimeout(t), resolve(code)));
    });
    const spare = (await kucoinClient(() => gw.url, creds)<{ token: string }>("POST", "/api/v1/bullet-private")).data.token;
    await edgeB.bullets.revoke({ accountId: creds.accountId, apiKeyId: creds.apiKey });
    assert.equal(await closed, 4003, "closed by the gateway on the other process's revocation");
    assert.ok(socket.messages.some((m) => m.type === "error" && m.code === 411100), "told why");
    assert.equal(await edgeB.bullets.resolve(spare), undefined, "tokens taken before the revocation no longer connect");
  });

  it("with Redis stalled, signed, session and public requests get 503 500000, never an unchecked pass", async () => {
    const unavailable = { status: 503, body: { code: "500000", msg: "Service unavailable: the shared session and key store did not answer; retry shortly", senCode: "AUTH_SHARED_STATE_UNAVAILABLE" } };
    await redis.pause();
    try {
      assert.deepEqual(await get("/api/v1/accounts", signed("/api/v1/accounts")), unavailable);
      assert.deepEqual(await get("/api/v1/sen/api-keys", { authorization: `Bearer ${creds.token}` }), unavailable);
      assert.deepEqual(await get("/api/v1/market/allTickers", {}), unavailable);
    } finally {
      await redis.resume();
    }
    const again = await get("/api/v1/accounts", signed("/api/v1/accounts", Date.now() + 2));
    assert.equal(again.status, 200, JSON.stringify(again.body));
  });
});
