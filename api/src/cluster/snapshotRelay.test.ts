import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { redisSkip, useRedis } from "../../test/support/redisServer.ts";
import { createFileSnapshotStore } from "../journal/fileSnapshotStore.ts";
import type { SnapshotStore } from "../journal/types.ts";
import { LEASE_KEY } from "./lease.ts";
import { loadPublishedSnapshot, publishingSnapshotStore, SNAPSHOT_CHUNK_BYTES, SNAPSHOT_DATA_KEY, SNAPSHOT_KEY, swapStaged } from "./snapshotRelay.ts";

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
    assert.deepEqual(await redis.keys(`${SNAPSHOT_DATA_KEY}:staging:*`), [], "the refused state's staging key is dropped");
    await redis.del(LEASE_KEY);
    await zombie.save(501n, { core: {} });
    assert.equal(errors.length, 2, "no lease at all: not published either");
    assert.equal(await loadPublishedSnapshot(redis), null);
  });
  it("a large state goes to Redis in chunks, not one command, and is swapped in whole; no staging key stays behind", async () => {
    const redis = db.client;
    await redis.del(SNAPSHOT_KEY, SNAPSHOT_DATA_KEY);
    await redis.set(LEASE_KEY, JSON.stringify({ token: "cc33", node: "seq-c", http: "", since: 0 }));
    const calls = async () => {
      const text = (await redis.info("commandstats")) as string;
      const n = (cmd: string) => Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, "m").exec(text)?.[1] ?? 0);
      return { setrange: n("setrange"), set: n("set") };
    };
    const published: number[] = [];
    const store = publishingSnapshotStore(memoryStore(), { redis, token: "cc33", onPublished: (_seq, bytes) => published.push(bytes), onError: (e) => assert.fail(e as Error) });
    // About 3.5 chunks of orders, non-ASCII text and bigints included.
    const orders = Array.from({ length: 24_000 }, (_, i) => ({ id: `o${i}`, note: i % 7 === 0 ? "giá vàng ✓ 黄金" : "gold", funds: 10n ** 20n + BigInt(i) }));
    const state = { core: { orders }, risk: {}, parts: {} };
    const before = await calls();
    await store.save(1_000n, state);
    const after = await calls();
    assert.equal(published.length, 1);
    const least = Math.ceil(published[0] / SNAPSHOT_CHUNK_BYTES);
    assert.ok(least >= 3, `the state is ${published[0]} bytes: at least ${least} chunks`);
    assert.equal(after.set - before.set, 1);
    // A chunk is closed early only before a piece (a few KB here) that might not fit: each is nearly full.
    const commands = 1 + after.setrange - before.setrange;
    assert.ok(commands >= least && commands <= least + 1, `${commands} commands for ${published[0]} bytes`);
    assert.deepEqual(await loadPublishedSnapshot(redis), { seq: 1_000n, state });
    assert.deepEqual(await redis.keys(`${SNAPSHOT_DATA_KEY}:staging:*`), []);
    assert.equal(await redis.ttl(SNAPSHOT_DATA_KEY), -1, "the published state does not expire");
    // An older one is staged, then dropped by the swap.
    await store.save(999n, { core: { n: 999 } });
    assert.equal((await loadPublishedSnapshot(redis))?.seq, 1_000n);
    assert.deepEqual(await redis.keys(`${SNAPSHOT_DATA_KEY}:staging:*`), []);
  });

  it("behind the file store, the file's own bytes are published: the state is encoded once, in chunks, and a failed publish leaves the file", async () => {
    const redis = db.client;
    await redis.del(SNAPSHOT_KEY, SNAPSHOT_DATA_KEY);
    await redis.set(LEASE_KEY, JSON.stringify({ token: "ab12", node: "seq-f", http: "", since: 0 }));
    const dir = mkdtempSync(path.join(tmpdir(), "sen-relay-file-"));
    try {
      const errors: unknown[] = [];
      const store = publishingSnapshotStore(createFileSnapshotStore({ dir }), { redis, token: "ab12", onError: (e) => errors.push(e) });
      // A marker that counts how often the state is encoded (JSON.stringify calls toJSON once per encoding).
      let encoded = 0;
      const orders = Array.from({ length: 40_000 }, (_, i) => ({ id: `o${i}`, note: i % 7 === 0 ? "giá vàng ✓ 黄金" : "gold", funds: 10n ** 20n + BigInt(i) }));
      const state = { core: { orders, marker: { toJSON: () => (encoded++, "m") } }, risk: {}, parts: {} };
      const calls = async () => Number(/^cmdstat_setrange:calls=(\d+)/m.exec((await redis.info("commandstats")) as string)?.[1] ?? 0);
      const before = await calls();
      await store.save(2_000n, state);
      assert.deepEqual(errors, []);
      assert.equal(encoded, 1, "the relay staged the file store's bytes instead of encoding again");
      const file = readdirSync(dir).find((n) => n.endsWith(".snap"))!;
      const bytes = readFileSync(path.join(dir, file));
      const body = bytes.subarray(bytes.indexOf(0x0a) + 1);
      const published = (await redis.getBuffer(SNAPSHOT_DATA_KEY))!;
      assert.ok(body.length > 4 * SNAPSHOT_CHUNK_BYTES, `${body.length} bytes: several chunks`);
      assert.ok(published.equals(body), "the published state is the file's body, byte for byte");
      assert.ok((await calls()) - before + 1 >= Math.ceil(body.length / SNAPSHOT_CHUNK_BYTES), "no command carries more than a chunk");
      const { marker: _marker, ...core } = state.core;
      assert.deepEqual(await loadPublishedSnapshot(redis), { seq: 2_000n, state: { ...state, core: { ...core, marker: "m" } } });
      assert.deepEqual(await redis.keys(`${SNAPSHOT_DATA_KEY}:staging:*`), []);

      // The lease moved on: the next save is durable on disk, its publish refused and reported.
      await redis.set(LEASE_KEY, JSON.stringify({ token: "cd34", node: "seq-g", http: "", since: 0 }));
      await store.save(2_001n, { core: { n: 1 } });
      assert.equal(errors.length, 1);
      assert.match(String((errors[0] as Error).message), /SENSNAPSHOT_FENCED/);
      assert.deepEqual(await createFileSnapshotStore({ dir }).load(), { seq: 2_001n, state: { core: { n: 1 } } });
      assert.equal((await loadPublishedSnapshot(redis))?.seq, 2_000n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a snapshot published before the state had a key of its own (the hash's field d)", async () => {
    const redis = db.client;
    await redis.del(SNAPSHOT_KEY, SNAPSHOT_DATA_KEY);
    await redis.hset(SNAPSHOT_KEY, "seq", "42", "d", JSON.stringify({ core: { n: 42 } }));
    assert.deepEqual(await loadPublishedSnapshot(redis), { seq: 42n, state: { core: { n: 42 } } });
    await redis.set(LEASE_KEY, JSON.stringify({ token: "dd44", node: "seq-d", http: "", since: 0 }));
    await publishingSnapshotStore(memoryStore(), { redis, token: "dd44", onError: (e) => assert.fail(e as Error) }).save(43n, { core: { n: 43 } });
    assert.deepEqual(await loadPublishedSnapshot(redis), { seq: 43n, state: { core: { n: 43 } } });
    assert.equal(await redis.hget(SNAPSHOT_KEY, "d"), null, "the old field is dropped once a newer state is swapped in");
  });
  it("a staged state that is not the length written is not swapped in", async () => {
    const redis = db.client;
    await redis.del(SNAPSHOT_KEY, SNAPSHOT_DATA_KEY);
    await redis.set(LEASE_KEY, JSON.stringify({ token: "ee55", node: "seq-e", http: "", since: 0 }));
    await publishingSnapshotStore(memoryStore(), { redis, token: "ee55", onError: (e) => assert.fail(e as Error) }).save(10n, { core: { n: 10 } });
    // A chunk written twice (an APPEND resent after a reconnect would do this) or one missing.
    const staging = `${SNAPSHOT_DATA_KEY}:staging:ee55:11`;
    const text = JSON.stringify({ core: { n: 11 } });
    for (const stored of [text + text.slice(-5), text.slice(0, -5)]) {
      await redis.set(staging, stored);
      await assert.rejects(swapStaged(redis, "ee55", 11n, staging, Buffer.byteLength(text)), /SENSNAPSHOT_INCOMPLETE/);
      assert.equal(await redis.exists(staging), 0, "dropped");
      assert.deepEqual(await loadPublishedSnapshot(redis), { seq: 10n, state: { core: { n: 10 } } });
    }
    await redis.set(staging, text);
    assert.equal(await swapStaged(redis, "ee55", 11n, staging, Buffer.byteLength(text)), true);
    assert.deepEqual(await loadPublishedSnapshot(redis), { seq: 11n, state: { core: { n: 11 } } });
  });
});

describe("published snapshots: Redis killed while a snapshot is staged", { skip }, () => {
  const db = useRedis({ client: { maxRetriesPerRequest: 1 } });

  it("the save reports the failure or publishes the whole state, never part of it; the next save publishes", async () => {
    const redis = db.client;
    redis.on("error", () => undefined);
    await redis.set(LEASE_KEY, JSON.stringify({ token: "ff66", node: "seq-f", http: "", since: 0 }));
    const errors: unknown[] = [];
    const published: bigint[] = [];
    const store = publishingSnapshotStore(memoryStore(), { redis, token: "ff66", onError: (e) => errors.push(e), onPublished: (seq) => published.push(seq) });
    const small = { core: { n: 1 } };
    await store.save(1n, small);
    // About 20 chunks: the encoder yields between pieces, so the kill lands while chunks are still being sent.
    const big = { core: { orders: Array.from({ length: 120_000 }, (_, i) => ({ id: `o${i}`, funds: 10n ** 20n + BigInt(i), note: "giá vàng" })) } };
    const watcher = new Redis(db.url, { maxRetriesPerRequest: 0 });
    watcher.on("error", () => undefined);
    const saving = store.save(2n, big);
    let staged = false;
    for (let i = 0; i < 2000 && !staged; i++) {
      staged = (await watcher.keys(`${SNAPSHOT_DATA_KEY}:staging:*`)).length > 0;
      if (!staged) await new Promise((r) => setImmediate(r));
    }
    watcher.disconnect();
    assert.ok(staged, "staging started");
    await db.server.kill9();
    await db.server.restart();
    await saving; // resolves either way: a failed publish goes to onError
    const after = await loadPublishedSnapshot(redis);
    if (published.includes(2n)) assert.deepEqual(after, { seq: 2n, state: big });
    else {
      assert.ok(errors.length > 0, "not published, and said so");
      assert.deepEqual(after, { seq: 1n, state: small }, "the previous state, whole");
    }
    await store.save(3n, small);
    assert.deepEqual(await loadPublishedSnapshot(redis), { seq: 3n, state: small });
  });
});
