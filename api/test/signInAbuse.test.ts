import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import type { LocalAccount } from "viem";
import type { AuditEvent } from "../src/compliance/audit/auditEvent.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { connectWs } from "./support/wsClient.ts";

type Reply = { status: number; code: string; msg?: string; senCode?: string; data: any };

/**
 * What anyone can do to the sign-in and websocket-token routes without a key, and what a
 * signed-in user can undo: on a real gateway over HTTP, identities on a real chain.
 */
describe("sign-in and websocket tokens under abuse; sign-out", { timeout: 180_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  // Held still, the failure-record buckets refill only when the test moves the clock.
  let heldAt: number | undefined;
  const clock = () => heldAt ?? Date.now();
  const trader = hardhatAccount(40);
  const victim = hardhatAccount(41);
  const stranger = hardhatAccount(42); // no e-ID
  const mallory = hardhatAccount(43);

  /** One HTTP request, from `from` (a loopback address of its own: the gateway's per-client limits see another client). */
  function call(method: string, path: string, options: { body?: unknown; token?: string; from?: string } = {}): Promise<Reply> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const url = new URL(gw.url);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          localAddress: options.from,
          headers: { ...(body ? { "content-type": "application/json" } : {}), ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode!, ...JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
  const challenge = async (account: LocalAccount) => (await call("GET", `/api/v1/sen/auth/challenge?address=${account.address}`)).data.message as string;
  const login = async (message: string, signature: string, from?: string) => call("POST", "/api/v1/sen/auth/login", { body: { message, signature }, from });
  const signIn = async (account: LocalAccount) => {
    const message = await challenge(account);
    const r = await login(message, await account.signMessage({ message }));
    assert.equal(r.code, "200000", r.msg);
    return r.data as { token: string; accountId: string };
  };
  const junkSignature = `0x${"ab".repeat(65)}`;
  async function events(type: AuditEvent["type"]): Promise<AuditEvent[]> {
    await gw.ctx.audit.flush();
    const out: AuditEvent[] = [];
    for await (const { line } of gw.ctx.audit.log.read()) {
      const e = JSON.parse(line) as AuditEvent;
      if (e.type === type) out.push(e);
    }
    return out;
  }

  before(async () => {
    chain = await startChain();
    for (const a of [trader, victim, mallory]) await chain.attest(a.address, `abuse-${a.address}`);
    gw = await startTestGateway(chain, { env: { SEN_JOURNAL_FSYNC: "none" }, now: clock });
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("public websocket tokens from 2,000 addresses × 100 fill only their own room: a trader still gets a private token and connects", async () => {
    let issued = 0;
    for (let n = 0; n < 2_000; n++) for (let i = 0; i < 100; i++) if (await gw.ctx.bullets.issue(null, `2001:db8:${n.toString(16)}::${i.toString(16)}`)) issued++;
    const { token } = await signIn(mallory);
    const priv = await call("POST", "/api/v1/bullet-private", { token });
    assert.equal(priv.code, "200000", `${priv.status} ${priv.msg}`);
    assert.ok(issued < 200_000, `public tokens stopped at their cap (${issued})`);
    const pub = await call("POST", "/api/v1/bullet-public");
    assert.deepEqual([pub.status, pub.code], [429, "429000"], "the public room is full");
    const ws = await connectWs(gw.ctx.config.wsEndpoint, priv.data.token);
    await ws.subscribe("/account/balance", true);
    await ws.close();
  });

  it("a failed sign-in names an account only when that account's wallet signed the message", async () => {
    const before = (await events("auth.loginFailed")).length;
    const victimId = victim.address.toLowerCase();
    // Anyone can put the victim's wallet in a message: a real challenge, a made-up text.
    const forVictim = await challenge(victim);
    assert.equal((await login(forVictim, junkSignature)).senCode, "AUTH_SIWE_INVALID");
    assert.equal((await login(`sign me in as ${victim.address}`, junkSignature)).senCode, "AUTH_SIWE_INVALID");
    // Signed, but by someone else's wallet: it proves nothing about the victim either.
    assert.equal((await login(forVictim, await mallory.signMessage({ message: forVictim }))).senCode, "AUTH_SIWE_INVALID");
    // Signed by its own wallet, refused for the e-ID: the stranger's own attempt.
    const own = await challenge(stranger);
    assert.equal((await login(own, await stranger.signMessage({ message: own }))).senCode, "ID_NOT_VERIFIED");

    const failed = (await events("auth.loginFailed")).slice(before);
    assert.equal(failed.length, 4);
    for (const e of failed.slice(0, 3)) {
      assert.equal(e.account, undefined, JSON.stringify(e));
      assert.equal(e.wallet, undefined, JSON.stringify(e));
      assert.equal(e.detail?.claimedWallet, victimId, "kept as what the message claimed");
      assert.equal(e.reason, "AUTH_SIWE_INVALID");
    }
    assert.equal(failed[3].account, stranger.address.toLowerCase());
    assert.equal(failed[3].wallet, stranger.address.toLowerCase());
    assert.equal(failed[3].detail, undefined);
    assert.equal(failed[3].reason, "ID_NOT_VERIFIED");
  });

  it("failed sign-ins reach the audit log at a bounded rate per client address; the rest are counted", async () => {
    heldAt = Date.now();
    try {
      const before = await events("auth.loginFailed");
      for (let i = 0; i < 30; i++) assert.equal((await login(`junk ${i} ${victim.address}`, junkSignature, "127.0.0.2")).status, 401);
      for (let i = 0; i < 3; i++) await login(`junk ${i} ${victim.address}`, junkSignature, "127.0.0.3");
      const from = (ip: string, list: AuditEvent[]) => list.filter((e) => e.ip?.endsWith(ip)).length;
      let recorded = (await events("auth.loginFailed")).slice(before.length);
      assert.equal(from("127.0.0.2", recorded), 10, "a burst of 10 from one address");
      assert.equal(from("127.0.0.3", recorded), 3, "another address has its own bound");
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      assert.match(metrics, /^sen_auth_login_failures_unrecorded_total 20$/m);
      // One more every 6 s.
      heldAt += 6_000;
      await login(`junk ${victim.address}`, junkSignature, "127.0.0.2");
      await login(`junk ${victim.address}`, junkSignature, "127.0.0.2");
      recorded = (await events("auth.loginFailed")).slice(before.length);
      assert.equal(from("127.0.0.2", recorded), 11);
    } finally {
      heldAt = undefined;
    }
  });

  it("sign-out ends the calling session at once; sign-out everywhere ends every session of the account; API keys stay", async () => {
    const first = await signIn(trader);
    const second = await signIn(trader);
    const third = await signIn(trader);
    const key = await call("POST", "/api/v1/sen/api-keys", { token: third.token, body: { label: "bot", passphrase: "pass-phrase-1" } });
    assert.equal(key.code, "200000", key.msg);

    const out = await call("POST", "/api/v1/sen/auth/logout", { token: first.token });
    assert.deepEqual([out.code, out.data], ["200000", { sessions: 1 }]);
    for (const [method, path] of [["GET", "/api/v1/sen/api-keys"], ["POST", "/api/v1/sen/api-keys"], ["POST", "/api/v1/bullet-private"], ["POST", "/api/v1/sen/auth/logout"]]) {
      const r = await call(method, path, { token: first.token, body: method === "POST" && path.endsWith("api-keys") ? { label: "x", passphrase: "pass-phrase-1" } : undefined });
      assert.deepEqual([r.status, r.senCode], [401, "AUTH_BAD_SESSION"], `${method} ${path} with a signed-out token`);
    }
    assert.equal((await call("GET", "/api/v1/sen/api-keys", { token: second.token })).code, "200000", "another session stays");

    const all = await call("POST", "/api/v1/sen/auth/logout-all", { token: second.token });
    assert.deepEqual([all.code, all.data], ["200000", { sessions: 2 }]);
    for (const t of [second.token, third.token]) assert.equal((await call("GET", "/api/v1/sen/api-keys", { token: t })).status, 401);
    assert.equal((await gw.ctx.keys.list(trader.address.toLowerCase())).length, 1, "the API key is not a session");

    const logouts = (await events("auth.logout")).filter((e) => e.account === trader.address.toLowerCase());
    assert.deepEqual(
      logouts.map((e) => [e.wallet, e.reason, e.detail]),
      [
        [trader.address.toLowerCase(), "user", { scope: "session", sessions: 1 }],
        [trader.address.toLowerCase(), "user", { scope: "account", sessions: 2 }],
      ],
    );
    assert.ok(logouts.every((e) => e.identityHash && e.ip));
    // Signing out needs a session: nothing to end without one, and an API key is not one.
    assert.equal((await call("POST", "/api/v1/sen/auth/logout")).status, 401);
  });

  it("a signed message naming another site's URI, or another SIWE version, is refused; the challenge as issued signs in", async () => {
    const message = await challenge(trader);
    const publicUrl = gw.ctx.config.publicUrl;
    assert.ok(message.includes(`\nURI: ${publicUrl}\n`), "the challenge names the gateway's public URL");
    for (const [from, to] of [[`URI: ${publicUrl}`, "URI: https://evil.example/login"], [`URI: ${publicUrl}`, `URI: ${publicUrl.replace("http:", "https:")}`], ["Version: 1", "Version: 2"]]) {
      const other = message.replace(from, to);
      const r = await login(other, await trader.signMessage({ message: other }));
      assert.deepEqual([r.status, r.senCode], [401, "AUTH_SIWE_INVALID"], to);
    }
    const r = await login(message, await trader.signMessage({ message }));
    assert.equal(r.code, "200000", `the nonce was not spent by the refusals: ${r.msg}`);
  });
});
