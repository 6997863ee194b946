import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redisSkip, useRedis } from "../../test/support/redisServer.ts";
import { createRedisBulletTokens } from "./redisBulletTokens.ts";
import { SHARED_REDIS_OPTIONS } from "./sharedState.ts";
import type { Principal } from "./types.ts";

const skip = redisSkip("websocket token caps");
const trader = (accountId: string): Principal => ({ accountId, wallet: accountId as `0x${string}`, identityHash: "0x01", role: "trader", permissions: ["General"] }) as Principal;

/** The caps of the tokens every edge shares (redisBulletTokens.ts), on a real redis-server. */
describe("websocket tokens on Redis: caps", { skip }, () => {
  const db = useRedis({ client: SHARED_REDIS_OPTIONS });
  let n = 0;
  const store = (options: { maxPerOwner?: number; maxPrivate?: number; maxPublic?: number }) =>
    createRedisBulletTokens({ redis: db.client, now: Date.now, prefix: `caps${++n}:`, nodeId: "edge-a", ttlMs: 60_000, ...options });

  it("public tokens have a room of their own: filled from many addresses, every trader still gets a private token", async () => {
    const b = await store({ maxPerOwner: 3, maxPublic: 5, maxPrivate: 3 });
    try {
      for (let i = 0; i < 5; i++) assert.ok(await b.issue(null, `2001:db8:${i}::1`), `public ${i}`);
      assert.equal(await b.issue(null, "2001:db8:99::1"), null, "public room full");
      for (const a of ["0xa", "0xb", "0xc"]) assert.ok(await b.issue(trader(a), "2001:db8:99::1"), `private for ${a}`);
      assert.equal(await b.issue(trader("0xd"), "192.0.2.1"), null, "private room full");
      // Revoking frees private room only.
      await b.revokeAccount("0xa");
      assert.ok(await b.issue(trader("0xd"), "192.0.2.1"));
      assert.equal(await b.issue(null, "2001:db8:99::1"), null);
    } finally {
      await b.close();
    }
  });

  it("counts an IPv6 client by its /64 for the per-client cap", async () => {
    const b = await store({ maxPerOwner: 3 });
    try {
      const first = (await b.issue(null, "2001:db8:7:7::1"))!;
      for (let i = 2; i <= 6; i++) assert.ok(await b.issue(null, `2001:db8:7:7::${i}`));
      assert.equal(await b.resolve(first), undefined, "the /64 keeps its 3 newest");
      assert.equal(await db.client.zcard(`caps${n}:bullets:ip:2001:db8:7:7::/64`), 3);
      assert.ok(await b.issue(null, "2001:db8:7:8::1"), "the next /64 is another client");
    } finally {
      await b.close();
    }
  });

  it("the rooms' sets leave Redis with their last token", async () => {
    const b = await createRedisBulletTokens({ redis: db.client, now: Date.now, prefix: "gone:", nodeId: "edge-a", ttlMs: 200 });
    try {
      assert.ok(await b.issue(null, "192.0.2.1"));
      assert.ok(await b.issue(trader("0xa"), "192.0.2.1"));
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual((await db.client.keys("gone:bullet*")).sort(), []);
    } finally {
      await b.close();
    }
  });
});
