import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { Principal } from "./types.ts";
import { BulletTokens, endSessionBullets, type BulletRevocation } from "./bulletTokens.ts";
import { createSessionStore, sessionIdOf } from "./sessionStore.ts";

const trader = (accountId: string, apiKeyId?: string): Principal => ({ accountId, wallet: accountId as `0x${string}`, identityHash: "0x01", role: "trader", apiKeyId, permissions: ["General"] }) as Principal;

describe("bullet tokens", () => {
  it("expire after their life, in O(1) upkeep: a hoarding client cannot grow the table", async () => {
    let now = 0;
    const b = new BulletTokens(() => now, { ttlMs: 1_000, maxPerOwner: 50, maxPublic: 10_000 });
    const first = (await b.issue(null, "10.0.0.1"))!;
    assert.ok(await b.resolve(first));
    // One IP asking again and again keeps at most its cap alive; the oldest goes first.
    const mine: string[] = [];
    for (let i = 0; i < 500; i++) mine.push((await b.issue(null, "10.0.0.1"))!);
    assert.equal(b.size, 50);
    assert.equal(await b.resolve(first), undefined);
    assert.ok(await b.resolve(mine.at(-1)!));
    // Another IP is not affected by the first one's cap.
    const other = (await b.issue(null, "10.0.0.2"))!;
    assert.ok(await b.resolve(other));
    // After the life, tokens are gone and the next issue drops them from the table.
    now = 1_001;
    assert.equal(await b.resolve(other), undefined);
    await b.issue(null, "10.0.0.3");
    assert.equal(b.size, 1);
  });

  it("refuses new tokens when the whole table is full, instead of scanning it", async () => {
    const b = new BulletTokens(() => 0, { ttlMs: 1_000, maxPerOwner: 5, maxPublic: 20 });
    for (let i = 0; i < 20; i++) assert.ok(await b.issue(null, `10.0.1.${i}`));
    assert.equal(await b.issue(null, "10.0.2.1"), null);
  });

  it("public tokens, which anyone may ask for from every address they hold, never take a trader's room", async () => {
    // The shipped caps, filled as a reviewer did: 2,000 addresses (one /64 each) × 100 tokens.
    const b = new BulletTokens(() => 0);
    let issued = 0;
    for (let n = 0; n < 2_000; n++) for (let i = 0; i < 100; i++) if (await b.issue(null, `2001:db8:${n.toString(16)}::${i.toString(16)}`)) issued++;
    assert.equal(issued, 100_000, "public tokens stop at their own cap");
    assert.equal(await b.issue(null, "2001:db8:ffff::1"), null);
    const token = await b.issue(trader("0xabc"), "192.0.2.1");
    assert.ok(token, "a trader still gets a private token");
    assert.equal((await b.resolve(token))?.principal?.accountId, "0xabc");
  });

  it("private tokens have a cap of their own too, and a full private room leaves public tokens alone", async () => {
    const b = new BulletTokens(() => 0, { ttlMs: 1_000, maxPerOwner: 2, maxPrivate: 3, maxPublic: 2 });
    for (const a of ["0xa", "0xb", "0xc"]) assert.ok(await b.issue(trader(a), "ip"));
    assert.equal(await b.issue(trader("0xd"), "ip"), null);
    assert.ok(await b.issue(null, "10.0.0.1"));
    assert.ok(await b.issue(null, "10.0.0.2"));
    assert.equal(await b.issue(null, "10.0.0.3"), null);
    // A revoked or replaced token frees its own room, not the other's.
    await b.revokeAccount("0xa");
    assert.ok(await b.issue(trader("0xd"), "ip"));
    assert.equal(await b.issue(null, "10.0.0.3"), null);
  });

  it("counts an IPv6 client by its /64 (it holds every address in it), an IPv4 one by its address", async () => {
    const b = new BulletTokens(() => 0, { ttlMs: 1_000, maxPerOwner: 10 });
    const first = (await b.issue(null, "2001:db8:1:2::1"))!;
    // 30 more addresses of the same /64, as one host may use: the /64 keeps its 10 newest.
    for (let i = 2; i <= 31; i++) assert.ok(await b.issue(null, `2001:db8:1:2:${i.toString(16)}::${i}`));
    assert.equal(b.size, 10);
    assert.equal(await b.resolve(first), undefined, "the /64's oldest token went first");
    // The next /64 is another subscriber, and so is every IPv4 address, mapped or not.
    assert.ok(await b.issue(null, "2001:db8:1:3::1"));
    for (let i = 0; i < 10; i++) assert.ok(await b.issue(null, i % 2 ? `::ffff:198.51.100.${i}` : `198.51.100.${i}`));
    assert.equal(b.size, 21);
  });

  it("revocation voids an account's tokens, or only one key's, and tells the listeners", async () => {
    const b = new BulletTokens(() => 0);
    const seen: unknown[] = [];
    b.onRevoke((r) => seen.push(r));
    const k1 = (await b.issue(trader("0xa", "key1"), "ip"))!;
    const k2 = (await b.issue(trader("0xa", "key2"), "ip"))!;
    const other = (await b.issue(trader("0xb", "key3"), "ip"))!;
    await b.revoke({ accountId: "0xa", apiKeyId: "key1" });
    assert.equal(await b.resolve(k1), undefined);
    assert.ok(await b.resolve(k2));
    await b.revokeAccount("0xa");
    assert.equal(await b.resolve(k2), undefined);
    assert.ok(await b.resolve(other));
    assert.deepEqual(seen, [{ accountId: "0xa", apiKeyId: "key1" }, { accountId: "0xa" }]);
  });

  it("ending a session through the session store voids the tokens minted under it, and only those", async () => {
    const b = new BulletTokens(() => 0);
    const sessions = createSessionStore({ now: () => 0, randomBytes, onEnded: endSessionBullets(b) });
    const seen: BulletRevocation[] = [];
    b.onRevoke((r) => seen.push(r));
    const alice = trader("0xa");
    const [s1, s2, s3] = [await sessions.issue(alice), await sessions.issue(alice), await sessions.issue(alice)];
    const t1 = (await b.issue(alice, "ip", sessionIdOf(s1.token)))!;
    const t2 = (await b.issue(alice, "ip", sessionIdOf(s2.token)))!;
    const t3 = (await b.issue(alice, "ip", sessionIdOf(s3.token)))!;
    const byKey = (await b.issue(trader("0xa", "key1"), "ip"))!;
    const bob = await sessions.issue(trader("0xb"));
    const bobs = (await b.issue(trader("0xb"), "ip", sessionIdOf(bob.token)))!;

    assert.equal(await sessions.revokeSession(s1.token), true);
    assert.equal(await b.resolve(t1), undefined, "minted under the signed-out session");
    assert.deepEqual(await b.resolve(t2), { principal: alice, sessionId: sessionIdOf(s2.token) });
    assert.deepEqual(seen, [{ accountId: "0xa", sessionIds: [sessionIdOf(s1.token)] }], "listeners (the sockets) are told which session");

    assert.equal(await sessions.revokeSession(s1.token), false);
    assert.equal(seen.length, 1, "nothing ended, nothing revoked");
    assert.equal(await sessions.revokeSessions("0xa"), 2);
    assert.equal(await b.resolve(t2), undefined);
    assert.equal(await b.resolve(t3), undefined);
    assert.deepEqual(await b.resolve(byKey), { principal: trader("0xa", "key1") }, "an API key's token is not a session's");
    assert.ok(await b.resolve(bobs), "another account's session token stays");
    assert.deepEqual(seen[1], { accountId: "0xa", sessionIds: [sessionIdOf(s2.token), sessionIdOf(s3.token)] });
  });
});
