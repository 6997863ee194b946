import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { JournalError } from "../errors/SenError.ts";
import { redisServerPath, startRedis, type RedisServer } from "../../test/support/redisServer.ts";
import { createRedisJournal } from "./redisJournal.ts";
import { collect, describeJournalBehaviour } from "./testing/journalBehaviour.ts";
import { assertAcksSurvived, runWriterAndKill } from "./testing/writerCrash.ts";

const skip = redisServerPath() === null ? "redis-server not installed" : undefined;
if (skip) console.log(`# skipping Redis journal tests: ${skip}`);

let server: RedisServer;
let n = 0;
const freshStream = () => `sen:journal:test:${process.pid}:${++n}`;

describeJournalBehaviour("Redis Streams journal", {
  skip,
  async before() {
    server = await startRedis();
  },
  async storage() {
    const stream = freshStream();
    return () => createRedisJournal({ url: server.url, stream });
  },
});

describe("Redis journal: Redis specifics", { skip }, () => {
  let crashServer: RedisServer;
  before(async () => {
    crashServer = await startRedis();
  });
  after(async () => {
    await crashServer.stop();
    await server?.stop();
  });

  it("uses the seq as the stream id", async () => {
    const stream = freshStream();
    const journal = createRedisJournal({ url: crashServer.url, stream });
    await journal.open();
    journal.append({ a: 1n });
    journal.append({ a: 2n });
    await journal.flush();
    const redis = new Redis(crashServer.url);
    assert.deepEqual(await redis.xrange(stream, "-", "+"), [
      ["1-0", ["d", '{"a":{"$bigint":"1"}}']],
      ["2-0", ["d", '{"a":{"$bigint":"2"}}']],
    ]);
    await redis.quit();
    await journal.close();
  });

  it("fences a second writer: its batch is refused whole and nothing interleaves", async () => {
    const stream = freshStream();
    const a = createRedisJournal({ url: crashServer.url, stream });
    const b = createRedisJournal({ url: crashServer.url, stream });
    await a.open();
    await b.open();
    a.append({ who: "a" });
    await a.flush();
    b.append({ who: "b" });
    b.append({ who: "b" });
    await assert.rejects(b.flush(), (e: unknown) => e instanceof JournalError && e.code === "JOURNAL_IO" && /SENJOURNAL_CONFLICT/.test(e.message));
    assert.throws(() => b.append({}), (e: unknown) => e instanceof JournalError && e.code === "JOURNAL_IO");
    assert.deepEqual((await collect(a.read())).map((e) => e.record.who), ["a"]);
    await a.close();
    await b.close().catch(() => undefined);
  });

  it("sends the batch script by its SHA, and its text when Redis lost it (SCRIPT FLUSH, restart)", async () => {
    const redis = new Redis(crashServer.url);
    const stream = freshStream();
    const journal = createRedisJournal({ url: crashServer.url, stream });
    await journal.open();
    await redis.script("FLUSH");
    const calls = async () => {
      const text = (await redis.info("commandstats")) as string;
      const count = (cmd: string) => Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, "m").exec(text)?.[1] ?? 0);
      return { eval: count("eval"), evalsha: count("evalsha") };
    };
    const before = await calls();
    for (let i = 1; i <= 3; i++) {
      journal.append({ i });
      await journal.flush();
    }
    const after = await calls();
    // The first batch: EVALSHA refused (NOSCRIPT), then EVAL loads the script; the others by SHA alone.
    assert.equal(after.eval - before.eval, 1);
    assert.equal(after.evalsha - before.evalsha, 3);
    assert.deepEqual((await collect(journal.read())).map((e) => e.record.i), [1, 2, 3]);
    await journal.close();
    await redis.quit();
  });

  it("works on a caller's ioredis instance and leaves it open", async () => {
    const redis = new Redis(crashServer.url);
    const journal = createRedisJournal({ redis, stream: freshStream() });
    await journal.open();
    journal.append({ x: 1 });
    await journal.close();
    assert.equal(await redis.ping(), "PONG");
    await redis.quit();
  });

  it("keeps every flushed record across kill -9 and restart of redis-server (AOF always)", { timeout: 30_000 }, async () => {
    const stream = freshStream();
    const journal = createRedisJournal({ url: crashServer.url, stream });
    await journal.open();
    for (let i = 1; i <= 1000; i++) {
      journal.append({ i, v: BigInt(i) });
      if (i % 100 === 0) await journal.flush();
    }
    await crashServer.kill9();
    await crashServer.restart();
    const reopened = createRedisJournal({ url: crashServer.url, stream });
    assert.deepEqual(await reopened.open(), { lastSeq: 1000n });
    assert.deepEqual((await collect(reopened.read())).map((e) => e.record.v), Array.from({ length: 1000 }, (_, k) => BigInt(k + 1)));
    await reopened.close();
    // The first writer's connection comes back by itself and carries on.
    journal.append({ i: 1001, v: 1001n });
    await journal.flush();
    await journal.close();
  });

  it("keeps every acknowledged record when the writer process is killed -9", { timeout: 30_000 }, async () => {
    const stream = freshStream();
    const acks = await runWriterAndKill(["redis", crashServer.url, stream], 400);
    const journal = createRedisJournal({ url: crashServer.url, stream });
    await assertAcksSurvived(journal, acks);
    await journal.close();
  });
});
