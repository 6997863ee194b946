import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Principal } from "./types.ts";
import { BulletTokens } from "./bulletTokens.ts";

const trader = (accountId: string, apiKeyId?: string): Principal => ({ accountId, wallet: accountId as `0x${string}`, identityHash: "0x01", role: "trader", apiKeyId, permissions: ["General"] }) as Principal;

describe("bullet tokens", () => {
  it("expire after their life, in O(1) upkeep: a hoarding client cannot grow the table", async () => {
    let now = 0;
    const b = new BulletTokens(() => now, { ttlMs: 1_000, maxPerOwner: 50, maxTotal: 10_000 });
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
    const b = new BulletTokens(() => 0, { ttlMs: 1_000, maxPerOwner: 5, maxTotal: 20 });
    for (let i = 0; i < 20; i++) assert.ok(await b.issue(null, `10.0.1.${i}`));
    assert.equal(await b.issue(null, "10.0.2.1"), null);
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
});
