import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { JournalError } from "../errors/SenError.ts";
import { redisSkip, useRedis } from "../../test/support/redisServer.ts";
import { createRedisJournal } from "./redisJournal.ts";
import { collect } from "./testing/journalBehaviour.ts";

const skip = redisSkip("Redis journal fence");

describe("Redis journal: lease fence and atomic cursor", { skip }, () => {
  const db = useRedis({ close: "quit" });
  let n = 0;
  const fresh = () => `t${process.pid}:${++n}`;

  it("appends while the lease carries the writer's token, refuses the whole batch once it does not", async () => {
    const redis = db.client;
    const stream = `sen:journal:${fresh()}`;
    const lease = `sen:lease:${fresh()}`;
    await redis.set(lease, JSON.stringify({ token: "aaaa", node: "n1", http: "", since: 1 }));
    const journal = createRedisJournal({ url: db.url, stream, fence: { key: lease, value: "aaaa" } });
    await journal.open();
    journal.append({ i: 1 });
    await journal.flush();
    // Another node took the lease: the old writer's next batch must not land, not even partly.
    await redis.set(lease, JSON.stringify({ token: "bbbb", node: "n2", http: "", since: 2 }));
    journal.append({ i: 2 });
    journal.append({ i: 3 });
    await assert.rejects(journal.flush(), (e: unknown) => e instanceof JournalError && e.code === "JOURNAL_IO" && /SENJOURNAL_FENCED/.test(e.message) && /nothing was written/.test(e.message));
    assert.throws(() => journal.append({ i: 4 }), (e: unknown) => e instanceof JournalError && e.code === "JOURNAL_IO");
    assert.equal(await redis.xlen(stream), 1);
    await journal.close().catch(() => undefined);
  });

  it("refuses when the lease expired (no key at all), and a token inside another value does not pass", async () => {
    const redis = db.client;
    const stream = `sen:journal:${fresh()}`;
    const lease = `sen:lease:${fresh()}`;
    const gone = createRedisJournal({ url: db.url, stream, fence: { key: lease, value: "cafe" } });
    await gone.open();
    gone.append({ i: 1 });
    await assert.rejects(gone.flush(), /SENJOURNAL_FENCED/);
    await gone.close().catch(() => undefined);
    await redis.set(lease, JSON.stringify({ token: "cafebabe", node: "n2" }));
    const prefix = createRedisJournal({ url: db.url, stream, fence: { key: lease, value: "cafe" } });
    await prefix.open();
    prefix.append({ i: 1 });
    await assert.rejects(prefix.flush(), /SENJOURNAL_FENCED/);
    await prefix.close().catch(() => undefined);
    assert.equal(await redis.xlen(stream), 0);
  });

  it("writes the cursor in the same script as the records it was set after", async () => {
    const redis = db.client;
    const stream = `sen:journal:${fresh()}`;
    const cursor = `sen:cursor:${fresh()}`;
    const journal = createRedisJournal({ url: db.url, stream });
    await journal.open();
    journal.append({ cmd: "a" });
    journal.setCursor(cursor, "1-0");
    journal.append({ cmd: "b" });
    journal.setCursor(cursor, "2-0");
    await journal.flush();
    assert.equal(await redis.get(cursor), "2-0");
    assert.equal(journal.stats().writes, 1, "records and cursor in one batch");
    // A refused command appends nothing: its cursor still goes out at the next flush, alone.
    journal.setCursor(cursor, "3-0");
    await journal.flush();
    assert.equal(await redis.get(cursor), "3-0");
    assert.equal(journal.stats().writes, 2);
    assert.equal(journal.stats().records, 2);
    await journal.close();
  });

  it("a cursor set just before an append whose flush starts the write at once goes with that record", async () => {
    const redis = db.client;
    // The sequencer's consumer: the position first, then the command's method, which appends
    // and waits for durability (its flush starts the batch synchronously).
    const stream = `sen:journal:${fresh()}`;
    const cursor = `sen:cursor:${fresh()}`;
    const journal = createRedisJournal({ url: db.url, stream });
    await journal.open();
    journal.setCursor(cursor, "a");
    journal.append({ cmd: "a" });
    const durable = journal.flush();
    await durable;
    assert.equal(await redis.get(cursor), "a");
    assert.equal(journal.stats().writes, 1);
    // While a batch is in flight: a refused command (a cursor, no record), then one with a record.
    journal.setCursor(cursor, "b");
    journal.append({ cmd: "b" });
    const first = journal.flush();
    journal.setCursor(cursor, "b2-refused");
    journal.setCursor(cursor, "c");
    journal.append({ cmd: "c" });
    const second = journal.flush();
    await first;
    // The first batch carried "b" only: the later cursors were set after it left.
    await Promise.all([second]);
    assert.equal(await redis.get(cursor), "c");
    assert.equal(journal.stats().writes, 3);
    await journal.close();
  });

  it("a cursor is never written ahead of a record appended before it (a batch split at MAX_BATCH)", async () => {
    const redis = db.client;
    const stream = `sen:journal:${fresh()}`;
    const cursor = `sen:cursor:${fresh()}`;
    const journal = createRedisJournal({ url: db.url, stream });
    await journal.open();
    for (let i = 1; i <= 12_000; i++) {
      journal.setCursor(cursor, String(i));
      journal.append({ i });
    }
    // Watch each batch land: the cursor never names a command whose record is not in the stream.
    const seen: Array<[number, number]> = [];
    const done = journal.flush();
    const watcher = (async () => {
      const r2 = new Redis(db.url);
      for (let k = 0; k < 200; k++) {
        const [len, cur] = await r2.multi().xlen(stream).get(cursor).exec().then((x) => [Number(x![0][1]), Number(x![1][1] ?? 0)]);
        seen.push([len, cur]);
        if (len === 12_000) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      r2.disconnect();
    })();
    await Promise.all([done, watcher]);
    for (const [len, cur] of seen) assert.ok(cur <= len, `cursor ${cur} with ${len} records`);
    assert.equal(await redis.get(cursor), "12000");
    await journal.close();
  });

  it("a fenced batch writes neither its records nor its cursor", async () => {
    const redis = db.client;
    const stream = `sen:journal:${fresh()}`;
    const cursor = `sen:cursor:${fresh()}`;
    const lease = `sen:lease:${fresh()}`;
    await redis.set(lease, JSON.stringify({ token: "t1" }));
    const journal = createRedisJournal({ url: db.url, stream, fence: { key: lease, value: "t1" } });
    await journal.open();
    journal.append({ cmd: "a" });
    journal.setCursor(cursor, "1-0");
    await journal.flush();
    await redis.set(lease, JSON.stringify({ token: "t2" }));
    journal.append({ cmd: "b" });
    journal.setCursor(cursor, "2-0");
    await assert.rejects(journal.flush(), /SENJOURNAL_FENCED/);
    assert.equal(await redis.get(cursor), "1-0");
    assert.equal(await redis.xlen(stream), 1);
    await journal.close().catch(() => undefined);
  });

  it("a writer that dies between batches leaves the cursor with the last durable record (never ahead of it)", async () => {
    const redis = db.client;
    const stream = `sen:journal:${fresh()}`;
    const cursor = `sen:cursor:${fresh()}`;
    const journal = createRedisJournal({ url: db.url, stream });
    await journal.open();
    const flushes: Promise<void>[] = [];
    for (let i = 1; i <= 200; i++) {
      journal.append({ cmd: i });
      journal.setCursor(cursor, `${i}-0`);
      if (i % 7 === 0) flushes.push(journal.flush());
    }
    await Promise.all(flushes);
    // Whatever batches landed, the cursor names the last command whose record is in the stream.
    const records = await redis.xlen(stream);
    assert.equal(await redis.get(cursor), `${records}-0`);
    await journal.close();
    assert.equal(await redis.get(cursor), "200-0");
    const reopened = createRedisJournal({ url: db.url, stream });
    await reopened.open();
    assert.deepEqual((await collect(reopened.read())).map((e) => e.record.cmd), Array.from({ length: 200 }, (_, i) => i + 1));
    await reopened.close();
  });

  it("concurrent flushes under steady appends all resolve (cursor waiters are not starved)", async () => {
    const redis = db.client;
    const stream = `sen:journal:${fresh()}`;
    const cursor = `sen:cursor:${fresh()}`;
    const journal = createRedisJournal({ url: db.url, stream });
    await journal.open();
    const all: Promise<void>[] = [];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 20; i++) {
        journal.append({ r: round, i });
        journal.setCursor(cursor, `${round}:${i}`);
      }
      all.push(journal.flush());
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    assert.equal(await redis.get(cursor), "49:19");
    await journal.close();
  });
});
