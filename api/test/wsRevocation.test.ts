import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { startChainServices, type ChainServices } from "../src/chain/chainServices.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, postJson, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { siweLogin } from "./support/httpProbe.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { connectWs, type WsClient } from "./support/wsClient.ts";

/** Resolves with the close code once the gateway closes the socket. */
function closed(c: WsClient): Promise<number> {
  return new Promise((resolve, reject) => {
    if (c.ws.readyState === c.ws.CLOSED) return reject(new Error("already closed"));
    const t = setTimeout(() => reject(new Error("the socket stayed open")), 10_000);
    c.ws.once("close", (code: number) => (clearTimeout(t), resolve(code)));
  });
}

/** How the gateway answers a websocket upgrade with `token` ("opened" if it lets it in). */
function upgradeRefusal(gw: GatewayFixture, token: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${gw.ctx.config.wsEndpoint}?token=${token}`);
    ws.on("error", (err) => resolve(err.message));
    ws.on("open", () => (ws.close(), resolve("opened")));
  });
}

async function privateSocket(gw: GatewayFixture, creds: ApiCredentials): Promise<WsClient> {
  const bullet = await kucoinClient(() => gw.url, creds)<{ token: string }>("POST", "/api/v1/bullet-private");
  assert.equal(bullet.code, "200000", JSON.stringify(bullet));
  const c = await connectWs(gw.ctx.config.wsEndpoint, bullet.data.token);
  await c.subscribe("/account/balance", true);
  await c.subscribe("/spotMarket/tradeOrders", true);
  return c;
}

/** Signs a session out over HTTP (`logout` or `logout-all`); resolves to the envelope. */
async function signOut(gw: GatewayFixture, token: string, route: "logout" | "logout-all"): Promise<unknown> {
  const res = await fetch(`${gw.url}/api/v1/sen/auth/${route}`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  return res.json();
}

/** A private socket opened with a token minted under the session `token`. */
async function sessionSocket(gw: GatewayFixture, token: string): Promise<WsClient> {
  const c = await connectWs(gw.ctx.config.wsEndpoint, (await postJson(`${gw.url}/api/v1/bullet-private`, {}, token)).token as string);
  await c.subscribe("/account/balance", true);
  return c;
}

/**
 * A trader who loses access — a key deleted, a kill switch, an e-ID revoked on chain — loses
 * its open private sockets at once; they do not keep streaming balances or take new
 * subscriptions. Other traders' sockets, and the account's other keys, are untouched.
 */
describe("websocket access ends with the access", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices;
  const op = hardhatAccount(17);

  before(async () => {
    chain = await startChain();
    await chain.attest(op.address, "wsrev-operator");
    gw = await startTestGateway(chain, { env: { SEN_OPERATORS: op.address.toLowerCase() } });
    const [operatorKey] = await chain.connection.viem.getWalletClients();
    services = await startChainServices({ ctx: gw.ctx, publicClient: chain.publicClient, walletClient: operatorKey, contracts: chain.deployment.contracts, startBlock: BigInt(chain.deployment.startBlock), confirmations: 0, pollMs: 50 });
  });
  after(async () => {
    await services?.stop();
    await gw?.close();
    await chain?.close();
  });

  it("deleting an API key closes the sockets opened with it, not those of the account's other key", async () => {
    const a = hardhatAccount(18);
    await chain.attest(a.address, "wsrev-key");
    const one = await loginAndCreateKey(gw.url, a);
    const two = await loginAndCreateKey(gw.url, a);
    const s1 = await privateSocket(gw, one);
    const s2 = await privateSocket(gw, two);
    const bye = closed(s1);
    const res = await fetch(`${gw.url}/api/v1/sen/api-keys/${one.apiKey}`, { method: "DELETE", headers: { authorization: `Bearer ${one.token}` } });
    assert.equal(res.status, 200);
    assert.equal(await bye, 4003);
    assert.ok(s1.messages.some((m) => m.type === "error" && m.code === 411100), "told why");
    await s2.barrier(); // the other key's socket still answers
    await gw.ctx.trading.deposit(two.accountId, "VND", 1_000n, "wsrev-key-dep");
    await s2.next((m) => m.topic === "/account/balance" && m.data.currency === "VND");
    await s2.close();
  });

  it("an operator's kill switch closes the account's sockets", async () => {
    const a = hardhatAccount(19);
    await chain.attest(a.address, "wsrev-kill");
    const creds = await loginAndCreateKey(gw.url, a);
    const other = hardhatAccount(16);
    await chain.attest(other.address, "wsrev-bystander");
    const bystander = await privateSocket(gw, await loginAndCreateKey(gw.url, other));
    const s = await privateSocket(gw, creds);
    const spare = (await kucoinClient(() => gw.url, creds)<{ token: string }>("POST", "/api/v1/bullet-private")).data.token;
    const bye = closed(s);
    const operator = await loginAndCreateKey(gw.url, op);
    const r = await kucoinClient(() => gw.url, operator)("POST", `/api/v1/sen/operator/accounts/${creds.accountId}/kill-switch`, { reason: "test" });
    assert.equal(r.code, "200000", JSON.stringify(r));
    assert.equal(await bye, 4003);
    // No way back in while frozen: a token taken before does not connect, a new one is refused.
    assert.match(await upgradeRefusal(gw, spare), /401/);
    const again = await kucoinClient(() => gw.url, creds)("POST", "/api/v1/bullet-private");
    assert.deepEqual([again.status, again.code], [403, "411100"]);
    await bystander.barrier();
    await bystander.close();
  });

  it("an e-ID revoked on chain closes the account's sockets within a block, and no new private socket can be opened", async () => {
    const a = hardhatAccount(15);
    const id = await chain.attest(a.address, "wsrev-revoked");
    const creds = await loginAndCreateKey(gw.url, a);
    const spare = (await postJson(`${gw.url}/api/v1/bullet-private`, {}, creds.token)).token as string; // taken before the revocation
    const s = await privateSocket(gw, creds);
    const bye = closed(s);
    await chain.revoke(id);
    assert.equal(await bye, 4003);
    // The token taken before is void: the upgrade is refused.
    assert.match(await upgradeRefusal(gw, spare), /401/);
  });

  it("signing out voids the session's unused websocket tokens and closes its sockets; another session's and the API key's stay until logout-all, which leaves the key's", async () => {
    const a = hardhatAccount(14);
    await chain.attest(a.address, "wsrev-logout");
    const creds = await loginAndCreateKey(gw.url, a);
    const other = await siweLogin(gw.url, a);
    assert.equal(other.code, "200000", other.msg);
    const unused = (await postJson(`${gw.url}/api/v1/bullet-private`, {}, creds.token)).token as string;
    const mine = await sessionSocket(gw, creds.token);
    const theirs = await sessionSocket(gw, other.data.token);
    const byKey = await privateSocket(gw, creds);
    const bye = closed(mine);

    assert.deepEqual(await signOut(gw, creds.token, "logout"), { code: "200000", data: { sessions: 1 } });
    const signedOutAt = Date.now();
    assert.match(await upgradeRefusal(gw, unused), /401/, "a token minted under the signed-out session no longer connects");
    assert.equal(await bye, 4003);
    assert.ok(Date.now() - signedOutAt < 2_000, `closed ${Date.now() - signedOutAt} ms after the sign-out was answered`);
    assert.ok(mine.messages.some((m) => m.type === "error" && m.code === 411100 && m.data === "signed out"), "told why");
    // The account's other session and its API key keep their sockets (and stream).
    await gw.ctx.trading.deposit(creds.accountId, "VND", 1_000n, "wsrev-logout-dep");
    for (const s of [theirs, byKey]) await s.next((m) => m.topic === "/account/balance" && m.data.currency === "VND");

    const spare = (await postJson(`${gw.url}/api/v1/bullet-private`, {}, other.data.token)).token as string;
    const keySpare = (await kucoinClient(() => gw.url, creds)<{ token: string }>("POST", "/api/v1/bullet-private")).data.token;
    const byeToo = closed(theirs);
    assert.deepEqual(await signOut(gw, other.data.token, "logout-all"), { code: "200000", data: { sessions: 1 } });
    assert.match(await upgradeRefusal(gw, spare), /401/);
    assert.equal(await byeToo, 4003);
    // Sign-out leaves API keys alone: the key's socket streams on and its token still connects.
    await byKey.barrier();
    assert.equal(byKey.ws.readyState, byKey.ws.OPEN);
    assert.equal(await upgradeRefusal(gw, keySpare), "opened");
    await byKey.close();
  });
});
