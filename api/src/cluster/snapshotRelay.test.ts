import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redisSkip, useRedis } from "../../test/support/redisServer.ts";
import type { SnapshotStore } from "../journal/types.ts";
import { LEASE_KEY } from "./lease.ts";
import { loadPublishedSnapshot, publishingSnapshotStore, SNAPSHOT_KEY } from "./snapshotRelay.ts";

const skip = redisSkip("snapshot relay");

/** The data directory's store, as far as publishing sees it: what was saved, in order. */
function memoryStore(): SnapshotStore & { saved: bigint[] } {
  const saved: bigint[] = [];
  return { saved, save: async (seq) => void saved.push(seq), load: async () => null };
}

describe("published snapshots (sen:snapshot)", { skip }, () => {
  const db = useRedis();

  it("the lease holder publishes after its local save; a newer snapshot is never replaced by an older one; bigints survive", async () => {
    const redis = db.client;
    await redis.set(LEASE_KEY, JSON.stringify({ token: "aa11", node: "seq-a", http: "", since: 0 }));
    const errors: unknown[] = [];
    const local = memoryStore();
    const store = publishingSnapshotStore(local, { redis, token: "aa11", onError: (e) => errors.push(e) });
    assert.equal(await loadPublishedSnapshot(redis), null);
    await store.save(99n, { core: { balance: 2n ** 70n }, risk: {}, parts: {} });
    await store.save(100n, { core: { n: 100 }, risk: {}, parts: {} });
    await store.save(98n, { core: { n: 98 }, risk: {}, parts: {} });
    assert.deepEqual(local.saved, [99n, 100n, 98n], "every snapshot is saved locally first");
    assert.deepEqual(errors, []);
    assert.deepEqual(await loadPublishedSnapshot(redis), { seq: 100n, state: { core: { n: 100 }, risk: {}, parts: {} } });
    await redis.del(SNAPSHOT_KEY);
    await store.save(7n, { core: { balance: 2n ** 70n } });
    assert.deepEqual(await loadPublishedSnapshot(redis), { seq: 7n, state: { core: { balance: 2n ** 70n } } });
  });

  it("a former holder cannot publish (fenced by the lease token); its local snapshot still stands", async () => {
    const redis = db.client;
    await redis.del(SNAPSHOT_KEY);
    await redis.set(LEASE_KEY, JSON.stringify({ token: "bb22", node: "seq-b", http: "", since: 0 }));
    const errors: Error[] = [];
    const local = memoryStore();
    const zombie = publishingSnapshotStore(local, { redis, token: "aa11", onError: (e) => errors.push(e as Error) });
    await zombie.save(500n, { core: {} });
    assert.deepEqual(local.saved, [500n]);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /SENSNAPSHOT_FENCED/);
    assert.equal(await loadPublishedSnapshot(redis), null);
    await redis.del(LEASE_KEY);
    await zombie.save(501n, { core: {} });
    assert.equal(errors.length, 2, "no lease at all: not published either");
    assert.equal(await loadPublishedSnapshot(redis), null);
  });
});
