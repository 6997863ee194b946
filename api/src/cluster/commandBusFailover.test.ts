import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redisSkip, useRedis } from "../../test/support/redisServer.ts";
import { until } from "../../test/support/until.ts";
import { createRedisJournal } from "../journal/redisJournal.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import { TradingService } from "../trading/tradingService.ts";
import { CMD_APPLIED, CMD_STREAM, createCommandClient, startCommandConsumer } from "./commandBus.ts";

/** The command bus across a sequencer's failure, on a real redis-server (from a reviewer's proofs of concept). */
describe("command bus: failures around the command position", { skip: redisSkip("command bus failover") }, () => {
  const db = useRedis();

  it("an audit command's position waits for its line: a takeover records the line instead of answering it done", async () => {
    const redis = db.client;
    await redis.flushall();
    const journal = createRedisJournal({ url: db.url, stream: "sen:journal" });
    const { service } = await TradingService.open({ core: { catalog: defaultCatalog(), feeAccount: "fees" }, journal, risk: structuredClone(DEFAULT_RISK), now: Date.now });
    // Sequencer A dies while its audit log's fdatasync is under way (its flush never returns).
    const linesA: unknown[] = [];
    const auditA = { record: (e: unknown) => (linesA.push(e), { id: "a-1", seq: 1 }), flush: () => new Promise<void>(() => undefined) };
    const consumerA = await startCommandConsumer({ redis, trading: service, audit: auditA, journal, blockMs: 200 });
    const edge = createCommandClient({ redis, nodeId: "edge-1", blockMs: 200, timeoutMs: 10_000 });
    const answer = edge.send("audit", [{ type: "apiKey.created", account: "a", apiKeyId: "k1" }]);
    answer.catch(() => undefined);
    const [[cmdId]] = await until("queued", async () => {
      const e = await redis.xrange(CMD_STREAM, "-", "+");
      return e.length ? e : false;
    });
    await until("A recorded the line in memory", async () => linesA.length === 1);
    // Long enough for a position written with no record to have landed (it did, before the fix).
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual(await redis.get(CMD_APPLIED), cmdId, "the position is not durable before the line is");
    void consumerA.stop(); // kill -9: nothing of A runs any more
    const linesB: unknown[] = [];
    const auditB = { record: (e: unknown) => (linesB.push(e), { id: "b-1", seq: 1 }), flush: async () => undefined };
    const consumerB = await startCommandConsumer({ redis, trading: service, lookup: service.core, audit: auditB, journal, blockMs: 200 });
    const r = await answer;
    assert.equal(consumerB.answeredAgain, 0);
    assert.equal(linesB.length, 1, "B records the line before the edge is answered");
    assert.deepEqual(r.value, { id: "b-1", seq: 1 });
    await until("B's position durable", async () => (await redis.get(CMD_APPLIED)) === cmdId);
    await consumerB.stop();
    await edge.close();
    await journal.close();
  });

  it("a successor answers an audit command with the line its predecessor wrote for it, not with a line that only quotes the entry", async () => {
    const redis = db.client;
    await redis.flushall();
    const journal = createRedisJournal({ url: db.url, stream: "sen:journal" });
    const { service } = await TradingService.open({ core: { catalog: defaultCatalog(), feeAccount: "fees" }, journal, risk: structuredClone(DEFAULT_RISK), now: Date.now });
    const edge = createCommandClient({ redis, nodeId: "edge-1", blockMs: 200, timeoutMs: 10_000 });
    const first = edge.send("audit", [{ type: "apiKey.created", account: "a", apiKeyId: "k1" }]);
    const second = edge.send("audit", [{ type: "audit.query", account: "o", detail: { path: "/x" } }]);
    const [[entry1], [entry2]] = await until("queued", async () => {
      const e = await redis.xrange(CMD_STREAM, "-", "+");
      return e.length === 2 && e;
    });
    // The log as the predecessor left it: the first command's line durable (its position not),
    // and a compliance query whose detail quotes the second entry (an officer's own words).
    const ts = new Date().toISOString().replace("Z", "000Z");
    const log = [
      `{"seq":7,"id":"line-7","ts":"${ts}","type":"apiKey.created","account":"a","apiKeyId":"k1","detail":{"commandEntry":"${entry1}"}}`,
      `{"seq":8,"id":"line-8","ts":"${ts}","type":"audit.query","account":"o","detail":{"query":{"commandEntry":"${entry2}"}}}`,
    ];
    const recorded: Array<{ detail?: Record<string, unknown> }> = [];
    const audit = {
      record: (e: { detail?: Record<string, unknown> }) => (recorded.push(e), { id: "line-9", seq: 9 }),
      flush: async () => undefined,
      newestLines: async function* () {
        yield* [...log].reverse();
      },
    };
    const consumer = await startCommandConsumer({ redis, trading: service, lookup: service.core, audit, journal, blockMs: 200 });
    assert.deepEqual((await first).value, { id: "line-7", seq: 7 }, "answered with the predecessor's line");
    assert.deepEqual((await second).value, { id: "line-9", seq: 9 });
    assert.deepEqual(
      recorded.map((e) => e.detail),
      [{ path: "/x", commandEntry: entry2 }],
      "only the second is recorded, naming its entry",
    );
    await until("the position durable", async () => (await redis.get(CMD_APPLIED)) === entry2);
    await consumer.stop();
    await edge.close();
    await journal.close();
  });

  it("a journal failure on a batch of positions only stops the loop without an unhandled rejection and shows as journal.failed", async () => {
    const redis = db.client;
    await redis.flushall();
    await redis.set("lease", JSON.stringify({ token: "t1" }));
    const journal = createRedisJournal({ url: db.url, stream: "sen:journal", fence: { key: "lease", value: "t1" } });
    const { service } = await TradingService.open({ core: { catalog: defaultCatalog(), feeAccount: "fees" }, journal, risk: structuredClone(DEFAULT_RISK), now: Date.now });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const errors: string[] = [];
      const consumer = await startCommandConsumer({
        redis,
        trading: service,
        audit: { record: () => undefined, flush: async () => undefined },
        journal,
        blockMs: 200,
        isActive: () => !service.failed,
        onError: (e, what) => errors.push(`${what}: ${(e as Error).message}`),
      });
      const edge = createCommandClient({ redis, nodeId: "edge-1", blockMs: 200, timeoutMs: 1_500 });
      // Refused by the trading service (unknown market): the batch holds only its position.
      const bad = { accountId: "a", identityHash: "x", symbol: "NOPE-VND", side: "buy", type: "limit", price: 1, size: 1, tif: "GTC", postOnly: false, stp: "CN", clientOid: "c1" };
      await redis.set("lease", JSON.stringify({ token: "other" })); // fenced by a newer holder
      await edge.send("placeOrder", [bad]).catch(() => undefined);
      await until("the position batch failed", async () => errors.some((e) => e.includes("command position")));
      assert.equal(service.failed, false, "the trading service never saw it");
      assert.equal(journal.failed, true, "the journal shows it, for the role's watch (exit 70)");
      const second = await edge.send("placeOrder", [{ ...bad, clientOid: "c2" }]).catch((e: unknown) => e);
      assert.equal((second as { code?: string }).code, "CLUSTER_COMMAND_TIMEOUT", "left to the next sequencer, which answers it");
      await consumer.stop();
      assert.deepEqual(unhandled, []);
      await edge.close();
      await journal.close().catch(() => undefined); // throws its failure
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
