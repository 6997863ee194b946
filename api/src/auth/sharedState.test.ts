import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { AuthCode, AuthError } from "../errors/SenError.ts";
import { redisSkip, startRedis, useRedis, type RedisServer } from "../../test/support/redisServer.ts";
import { until } from "../../test/support/until.ts";
import type { BulletRevocation } from "./bulletTokens.ts";
import { createRedisBulletTokens } from "./redisBulletTokens.ts";
import { signKucoinRequest, verifyKucoinRequest, kucoinHmac } from "./kucoinSignature.ts";
import { createRedisApiKeyStore } from "./redisApiKeyStore.ts";
import { createRedisReplayGuard } from "./redisReplayGuard.ts";
import { createRedisSessionStore } from "./redisSessionStore.ts";
import { sessionIdOf } from "./sessionStore.ts";
import { createRedisSiweNonceStore } from "./redisSiweNonceStore.ts";
import { createSharedState, SHARED_REDIS_OPTIONS, type SharedState } from "./sharedState.ts";
import type { ApiKeyOwner, Principal } from "./types.ts";

const skip = redisSkip("shared-state");

const MASTER = randomBytes(32).toString("hex");
const ALICE: ApiKeyOwner = {
  accountId: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
  wallet: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  identityHash: "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  role: "trader",
};
const principal = (apiKeyId?: string): Principal => ({ ...ALICE, ...(apiKeyId === undefined ? {} : { apiKeyId }), permissions: ["General", "Trade"] });
const PASSPHRASE = "shared-pass-1";
const is = (code: string) => (e: unknown) => e instanceof AuthError && e.code === code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two "edges" = two connections and two sets of stores on one real redis-server: whatever one
 * accepts, issues or revokes, the other must see, as if they were one process.
 */
describe("shared state on Redis: two instances behave as one", { skip }, () => {
  let server: RedisServer;
  const connections: Redis[] = [];
  const states: SharedState[] = [];
  let prefixN = 0;

  async function pair(): Promise<[SharedState, SharedState, string]> {
    const prefix = `t${++prefixN}:`;
    const make = async (nodeId: string) => {
      const redis = new Redis(server.url, SHARED_REDIS_OPTIONS);
      connections.push(redis);
      const s = await createSharedState({ role: "edge", nodeId, masterKeyHex: MASTER }, redis, { prefix });
      states.push(s);
      return s;
    };
    return [await make("edge-a"), await make("edge-b"), prefix];
  }

  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    for (const s of states) await s.close();
    for (const c of connections) c.disconnect();
    await server?.stop();
  });

  it("a session issued at A is valid at B; revoked at B it is refused at A", async () => {
    const [a, b] = await pair();
    const s = await a.sessions.issue(principal());
    assert.deepEqual(await b.sessions.sessionFromToken(s.token), s.principal);
    const second = await b.sessions.issue(principal());
    assert.equal(await b.sessions.revokeSessions(ALICE.accountId), 2);
    await assert.rejects(a.sessions.sessionFromToken(s.token), is(AuthCode.BAD_SESSION));
    await assert.rejects(a.sessions.sessionFromToken(second.token), is(AuthCode.BAD_SESSION));
    await assert.rejects(b.sessions.sessionFromToken(s.token + "x"), is(AuthCode.BAD_SESSION));
  });

  it("a session signed out at B is refused at A; the account's other sessions stay", async () => {
    const [a, b, prefix] = await pair();
    const s = await a.sessions.issue(principal());
    const other = await a.sessions.issue(principal());
    assert.equal(await b.sessions.revokeSession(s.token), true);
    await assert.rejects(a.sessions.sessionFromToken(s.token), is(AuthCode.BAD_SESSION));
    assert.deepEqual(await a.sessions.sessionFromToken(other.token), other.principal);
    assert.equal(await a.sessions.revokeSession(s.token), false, "already ended");
    const redis = connections.at(-1)!;
    assert.equal(await redis.scard(`${prefix}sessions:${ALICE.accountId}`), 1, "out of the account's set too");
    assert.equal(await a.sessions.revokeSessions(ALICE.accountId), 1);
  });

  it("a signature remembered at A is a replay at B, and of simultaneous attempts exactly one wins", async () => {
    const [a, b] = await pair();
    const t = Date.now();
    assert.equal(await a.replay.remember("key1", "sig", t), true);
    assert.equal(await b.replay.remember("key1", "sig", t), false);
    assert.equal(await b.replay.remember("key2", "sig", t), true, "another key's pair");
    const race = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).replay.remember("key1", "raced", t)));
    assert.equal(race.filter(Boolean).length, 1);
  });

  it("a sign-in nonce consumed at A fails at B; one issued for another wallet is refused (and used up)", async () => {
    const [a, b] = await pair();
    await a.siweNonces.issue("nonce1", ALICE.wallet, Date.now() + 60_000);
    assert.equal(await b.siweNonces.consume("nonce1", ALICE.wallet), true);
    assert.equal(await a.siweNonces.consume("nonce1", ALICE.wallet), false);
    await a.siweNonces.issue("nonce2", ALICE.wallet, Date.now() + 60_000);
    assert.equal(await b.siweNonces.consume("nonce2", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), false);
    assert.equal(await a.siweNonces.consume("nonce2", ALICE.wallet), false);
  });

  it("a key created at A verifies signed requests at B; revoked at B it is refused at A; disabled at A no new key at B", async () => {
    const [a, b, prefix] = await pair();
    const { record, apiSecret } = await a.keys.create(ALICE, { label: "bot", permissions: ["General", "Trade"], passphrase: PASSPHRASE });
    const request = (timestamp: number) => {
      const h = signKucoinRequest({ method: "POST", pathWithQuery: "/api/v1/orders", body: "{}", apiKey: record.apiKeyId, apiSecret, passphrase: PASSPHRASE, timestamp });
      return { method: "POST", pathWithQuery: "/api/v1/orders", body: "{}", ip: "203.0.113.7", headers: { key: h["KC-API-KEY"], sign: h["KC-API-SIGN"], timestamp: h["KC-API-TIMESTAMP"], passphrase: h["KC-API-PASSPHRASE"], keyVersion: "2" } };
    };
    const deps = (s: SharedState) => ({ keys: s.keys, replay: s.replay, now: Date.now });
    const req = request(Date.now());
    const p = await verifyKucoinRequest(req, deps(b));
    assert.equal(p.apiKeyId, record.apiKeyId);
    // The same signed request sent to A next is a replay, whichever edge saw it first.
    await assert.rejects(verifyKucoinRequest(req, deps(a)), is(AuthCode.REPLAYED));
    assert.deepEqual(await b.keys.get(record.apiKeyId), record);
    assert.deepEqual((await b.keys.list(ALICE.accountId)).map((k) => k.apiKeyId), [record.apiKeyId]);
    assert.deepEqual(await b.keys.accounts(), [ALICE.accountId]);

    // Nothing in Redis holds the secret, the passphrase or its v2 header in clear.
    const raw = new Redis(server.url);
    connections.push(raw);
    const dump = JSON.stringify(await raw.hgetall(`${prefix}apikey:${record.apiKeyId}`));
    for (const needle of [apiSecret, PASSPHRASE, kucoinHmac(apiSecret, PASSPHRASE)]) assert.ok(!dump.includes(needle), "Redis holds a secret in clear");

    const revoked = await b.keys.revoke(ALICE.accountId, record.apiKeyId);
    assert.ok(revoked.revokedAt);
    await assert.rejects(verifyKucoinRequest(request(Date.now() + 1), deps(a)), is(AuthCode.KEY_REVOKED));
    await assert.rejects(a.keys.revoke("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", record.apiKeyId), is(AuthCode.UNKNOWN_KEY), "someone else's key is unknown");

    const second = await b.keys.create(ALICE, { label: "bot2", permissions: ["General"], passphrase: PASSPHRASE });
    assert.equal(await a.keys.disableAccount(ALICE.accountId, "identity revoked"), 2);
    assert.equal((await b.keys.get(second.record.apiKeyId))!.disabledReason, "identity revoked");
    assert.equal(await b.keys.isAccountDisabled(ALICE.accountId), "identity revoked");
    await assert.rejects(b.keys.create(ALICE, { label: "bot3", permissions: ["General"], passphrase: PASSPHRASE }), is(AuthCode.ACCOUNT_DISABLED));

    // A process with another master key cannot open the secrets (fails closed, does not verify).
    const wrong = createRedisApiKeyStore({ redis: raw, masterKey: randomBytes(32), now: Date.now, randomBytes, prefix });
    await assert.rejects(wrong.credentials(second.record.apiKeyId), is(AuthCode.STORE_CORRUPT));
  });

  it("a websocket token issued at A resolves at B; revoking at A voids it and notifies B", async () => {
    const [a, b] = await pair();
    const seenAtB: BulletRevocation[] = [];
    const seenAtA: BulletRevocation[] = [];
    b.bullets.onRevoke((r) => seenAtB.push(r));
    a.bullets.onRevoke((r) => seenAtA.push(r));
    const k1 = (await a.bullets.issue(principal("key1"), "10.0.0.1"))!;
    const k2 = (await a.bullets.issue(principal("key2"), "10.0.0.1"))!;
    const pub = (await b.bullets.issue(null, "10.0.0.9"))!;
    assert.deepEqual((await b.bullets.resolve(k1))?.principal, principal("key1"));
    assert.deepEqual(await a.bullets.resolve(pub), { principal: null });

    await a.bullets.revoke({ accountId: ALICE.accountId, apiKeyId: "key1" });
    assert.equal(await b.bullets.resolve(k1), undefined);
    assert.ok(await b.bullets.resolve(k2), "another key's token stays");
    await a.bullets.revokeAccount(ALICE.accountId);
    assert.equal(await b.bullets.resolve(k2), undefined);
    assert.ok(await b.bullets.resolve(pub));
    await until("B told of both revocations", () => seenAtB.length === 2);
    assert.deepEqual(seenAtB, [{ accountId: ALICE.accountId, apiKeyId: "key1" }, { accountId: ALICE.accountId }]);
    assert.equal(seenAtA.length, 2, "the revoking process hears its own revocations once");
  });

  it("a session ended at B voids at A the websocket tokens minted under it, and A's sockets are told which; other sessions' and keys' tokens stay", async () => {
    const [a, b] = await pair();
    const seenAtA: BulletRevocation[] = [];
    a.bullets.onRevoke((r) => seenAtA.push(r));
    const [s1, s2, s3] = [await a.sessions.issue(principal()), await a.sessions.issue(principal()), await a.sessions.issue(principal())];
    const t1 = (await a.bullets.issue(principal(), "10.0.0.1", sessionIdOf(s1.token)))!;
    const t2 = (await a.bullets.issue(principal(), "10.0.0.1", sessionIdOf(s2.token)))!;
    const t3 = (await a.bullets.issue(principal(), "10.0.0.1", sessionIdOf(s3.token)))!;
    const byKey = (await a.bullets.issue(principal("key1"), "10.0.0.1"))!;
    assert.deepEqual(await b.bullets.resolve(t1), { principal: principal(), sessionId: sessionIdOf(s1.token) });

    assert.equal(await b.sessions.revokeSession(s1.token), true);
    assert.equal(await a.bullets.resolve(t1), undefined, "minted under the session signed out at B");
    assert.ok(await a.bullets.resolve(t2));
    // Voided before the session is deleted and again after (redisSessionStore.ts): told twice.
    await until("A told of the sign-out", () => seenAtA.length === 2);
    const signedOut = { accountId: ALICE.accountId, sessionIds: [sessionIdOf(s1.token)] };
    assert.deepEqual(seenAtA, [signedOut, signedOut]);

    assert.equal(await b.sessions.revokeSessions(ALICE.accountId), 2);
    for (const t of [t2, t3]) assert.equal(await a.bullets.resolve(t), undefined);
    assert.ok(await a.bullets.resolve(byKey), "an API key's token is not a session's");
    await until("A told of the sign-out everywhere", () => seenAtA.length === 4);
    for (const r of seenAtA.slice(2)) assert.deepEqual([...r.sessionIds!].sort(), [sessionIdOf(s2.token), sessionIdOf(s3.token)].sort());
  });

  it("a sign-out whose voiding fails leaves the session live, and its retry voids the tokens and ends it", async () => {
    const [a, , prefix] = await pair();
    const redis = new Redis(server.url, SHARED_REDIS_OPTIONS);
    connections.push(redis);
    // The bullet store failing (Redis refusing its script) cannot be timed for real between the
    // sign-out's steps: the first void fails here, as that failure would surface.
    let failNext = true;
    const voided: string[][] = [];
    const sessions = createRedisSessionStore({
      redis,
      prefix,
      now: Date.now,
      randomBytes,
      onEnded: async (accountId, hashes) => {
        if (failNext) {
          failNext = false;
          throw new AuthError(AuthCode.SHARED_STATE_UNAVAILABLE, "the shared store did not answer (websocket tokens)");
        }
        voided.push(hashes);
        await a.bullets.revoke({ accountId, sessionIds: hashes });
      },
    });
    const s = await sessions.issue(principal());
    const t = (await a.bullets.issue(principal(), "10.0.0.1", sessionIdOf(s.token)))!;
    await assert.rejects(sessions.revokeSession(s.token), is(AuthCode.SHARED_STATE_UNAVAILABLE));
    assert.deepEqual(await sessions.sessionFromToken(s.token), s.principal, "not ended: the sign-out can be tried again");
    assert.ok(await a.bullets.resolve(t));
    assert.equal(await sessions.revokeSession(s.token), true, "the retry finds the session and ends it");
    assert.equal(await a.bullets.resolve(t), undefined, "and its websocket token with it");
    await assert.rejects(sessions.sessionFromToken(s.token), is(AuthCode.BAD_SESSION));
    assert.deepEqual(voided, [[sessionIdOf(s.token)], [sessionIdOf(s.token)]]);
  });

  it("public rate buckets are one limit across edges", async () => {
    const [a, b] = await pair();
    const t = Date.now();
    const took = [await a.publicBuckets.take("203.0.113.7", 3, 1, t), await b.publicBuckets.take("203.0.113.7", 3, 1, t), await a.publicBuckets.take("203.0.113.7", 3, 1, t)];
    assert.deepEqual(took, [true, true, true]);
    assert.equal(await b.publicBuckets.take("203.0.113.7", 3, 1, t), false, "the burst is spent, whichever edge asks");
    assert.equal(await a.publicBuckets.take("198.51.100.1", 3, 1, t), true, "another address has its own bucket");
    assert.equal(await b.publicBuckets.take("203.0.113.7", 3, 1, t + 1_000), true, "refilled at perSecond");
    assert.equal(await a.publicBuckets.take("203.0.113.7", 3, 1, t + 1_000), false);
  });
});

describe("shared state on Redis: expiry", { skip }, () => {
  const db = useRedis({ client: SHARED_REDIS_OPTIONS });

  it("sessions, nonces, replay pairs, tokens and idle buckets leave Redis when their life ends", async () => {
    const redis = db.client;
    const now = Date.now;
    const sessions = createRedisSessionStore({ redis, now, randomBytes, ttlMs: 300, prefix: "x:" });
    const nonces = createRedisSiweNonceStore({ redis, now, prefix: "x:" });
    const replay = createRedisReplayGuard({ redis, now, windowMs: 300, prefix: "x:" });
    const bullets = await createRedisBulletTokens({ redis, now, prefix: "x:", nodeId: "n", ttlMs: 300 });
    try {
      const s = await sessions.issue(principal());
      await nonces.issue("n1", ALICE.wallet, Date.now() + 300);
      assert.equal(await replay.remember("k", "sig", Date.now()), true);
      assert.equal(await replay.remember("k", "sig", Date.now()), false);
      const token = (await bullets.issue(null, "10.0.0.1"))!;
      assert.ok(await bullets.resolve(token));
      await sleep(700);
      await assert.rejects(sessions.sessionFromToken(s.token), is(AuthCode.BAD_SESSION));
      assert.equal(await nonces.consume("n1", ALICE.wallet), false);
      assert.equal(await replay.remember("k", "sig", Date.now()), true, "a pair is forgotten once its timestamp has left the window");
      assert.equal(await bullets.resolve(token), undefined);
      // Gone from Redis, not just refused: memory is bounded by the lives.
      assert.deepEqual((await redis.keys("x:session:*")).length + (await redis.keys("x:siwe:*")).length + (await redis.keys("x:bullet:*")).length, 0);
    } finally {
      await bullets.close();
    }
  });
});

describe("shared state on Redis: faults fail closed", { skip }, () => {
  let server: RedisServer;
  let a: SharedState;
  let b: SharedState;
  const connections: Redis[] = [];
  before(async () => {
    server = await startRedis();
    for (const nodeId of ["edge-a", "edge-b"]) {
      const redis = new Redis(server.url, SHARED_REDIS_OPTIONS);
      redis.on("error", () => {});
      connections.push(redis);
      const s = await createSharedState({ role: "edge", nodeId, masterKeyHex: MASTER }, redis);
      if (nodeId === "edge-a") a = s;
      else b = s;
    }
  });
  after(async () => {
    await server?.resume();
    await a?.close();
    await b?.close();
    for (const c of connections) c.disconnect();
    await server?.stop();
  });

  it("a stalled Redis refuses with AUTH_SHARED_STATE_UNAVAILABLE instead of accepting a replay", async () => {
    const t = Date.now();
    assert.equal(await a.replay.remember("key1", "seen", t), true);
    const session = await a.sessions.issue(principal());
    await server.pause();
    try {
      const started = Date.now();
      await assert.rejects(b.replay.remember("key1", "seen", t), is(AuthCode.SHARED_STATE_UNAVAILABLE));
      assert.ok(Date.now() - started < SHARED_REDIS_OPTIONS.commandTimeout + 1_500, "fails within the command timeout, not never");
      await assert.rejects(b.replay.remember("key1", "fresh", t), is(AuthCode.SHARED_STATE_UNAVAILABLE), "not even a new pair is waved through unchecked");
      await assert.rejects(b.sessions.sessionFromToken(session.token), is(AuthCode.SHARED_STATE_UNAVAILABLE));
      await assert.rejects(b.keys.credentials("0123456789abcdef01234567"), is(AuthCode.SHARED_STATE_UNAVAILABLE));
      await assert.rejects(b.bullets.resolve("token"), is(AuthCode.SHARED_STATE_UNAVAILABLE));
      await assert.rejects(Promise.resolve(b.publicBuckets.take("ip", 5, 1, Date.now())), is(AuthCode.SHARED_STATE_UNAVAILABLE));
    } finally {
      await server.resume();
    }
    assert.equal(await b.replay.remember("key1", "seen", t), false, "after the stall the pair is still known");
    assert.deepEqual(await b.sessions.sessionFromToken(session.token), session.principal);
  });

  it("Redis down: refused; after a crash and restart (AOF) remembered pairs, sessions and keys are still there, and a revocation made meanwhile reaches the other edge", async () => {
    const t = Date.now();
    assert.equal(await a.replay.remember("key2", "before-crash", t), true);
    const session = await a.sessions.issue(principal());
    const { record } = await a.keys.create(ALICE, { label: "bot", permissions: ["General"], passphrase: PASSPHRASE });
    const seenAtB: BulletRevocation[] = [];
    b.bullets.onRevoke((r) => seenAtB.push(r));
    await server.kill9();
    await assert.rejects(b.replay.remember("key2", "before-crash", t), is(AuthCode.SHARED_STATE_UNAVAILABLE));
    await assert.rejects(b.sessions.issue(principal()), is(AuthCode.SHARED_STATE_UNAVAILABLE));
    await server.restart();
    // The connections come back by themselves; the first commands after the restart may still fail.
    await until("edge B reaches Redis again", async () => (await b.replay.remember("probe", String(Math.random()), Date.now()).catch(() => false)) === true);
    assert.equal(await b.replay.remember("key2", "before-crash", t), false, "a signature accepted before the crash is still a replay");
    assert.deepEqual(await b.sessions.sessionFromToken(session.token), session.principal);
    assert.equal((await b.keys.get(record.apiKeyId))?.apiKeyId, record.apiKeyId);
    await until("edge A reaches Redis again", async () => (await a.bullets.revokeAccount(ALICE.accountId).then(() => true).catch(() => false)));
    await until("B hears of the revocation made after the restart", () => seenAtB.length >= 1);
    assert.deepEqual(seenAtB[0], { accountId: ALICE.accountId });
  });
});
