import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redisSkip, useRedis } from "../../test/support/redisServer.ts";
import { until } from "../../test/support/until.ts";
import { createRedisJournal, newestRecords } from "../journal/redisJournal.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import { limitOrder } from "../trading/testing/limitOrders.ts";
import { TradingService, type PlaceInput } from "../trading/tradingService.ts";
import { CMD_APPLIED, CMD_STREAM, startCommandConsumer } from "./commandBus.ts";
import { commandStream, outcome } from "./testing/commandStream.ts";

const JOURNAL = "sen:journal";
const REPLIES = "sen:reply:amend-again";


/**
 * A successor answering again the amendments its predecessor applied or refused: sequencer A
 * answers each command live, dies, and B (same state, as a promoted replica has) answers them
 * all again from the order and the journal's amend records, as sequencerRole wires it.
 */
describe("command bus: amendments answered again after a takeover", { skip: redisSkip("amendments answered again") }, () => {
  const db = useRedis();

  it("answers what the core answered: applied though amended again or cut since, the engine's refusal, and what is not known as such", async () => {
    const redis = db.client;
    await redis.flushall();
    const journal = createRedisJournal({ url: db.url, stream: JOURNAL });
    const { service } = await TradingService.open({ core: { catalog: defaultCatalog(), feeAccount: "fees" }, journal, risk: structuredClone(DEFAULT_RISK), now: Date.now });
    const noAudit = { record: () => undefined, flush: async () => undefined };
    try {
      for (const a of ["a", "b", "c"]) {
        await service.deposit(a, "VND", 1_000_000_000n, `v-${a}`);
        await service.deposit(a, "GOLD", 1_000n, `g-${a}`);
      }
      const place = async (input: PlaceInput) => (await service.placeOrder(input)).orderId;
      await place(limitOrder("b", "sell", 10_200, 1, "ask"));
      const top = await place(limitOrder("c", "buy", 10_000, 5, "top")); // the best bid: c's own sell meets it first
      const plain = await place(limitOrder("a", "buy", 9_800, 5, "plain"));
      const postOnly = await place({ ...limitOrder("a", "buy", 9_700, 1, "post-only"), postOnly: true });
      const postOnly2 = await place({ ...limitOrder("a", "buy", 9_400, 1, "post-only-2"), postOnly: true });

      const { send, replies, answers } = commandStream(redis, REPLIES, "amend-again");

      // Sequencer A answers each as it applies it.
      const consumerA = await startCommandConsumer({ redis, trading: service, audit: noAudit, journal, blockMs: 200 });
      const cases: Array<[what: string, id: string]> = [];
      const amend = async (what: string, orderId: string, change: { price?: number; size?: number }, accountId = "a") => cases.push([what, await send("amendOrder", [accountId, orderId, change])]);
      await amend("applied, then amended again", plain, { price: 9_600 });
      await amend("applied, the last", plain, { price: 9_500 });
      await amend("refused by the engine: post-only would take", postOnly, { price: 10_200 });
      await amend("applied, its size cut since by a self-trade", top, { size: 3 }, "c");
      cases.push(["c's sell, decrementing its own bid", await send("placeOrder", [{ ...limitOrder("c", "sell", 10_000, 1, "dc"), stp: "DC" }])]);
      await amend("nothing to change: refused before the journal", plain, { price: 9_500 });
      await amend("post-only, price moved again later: not known", postOnly2, { price: 9_300 });
      await amend("post-only, the last", postOnly2, { price: 9_200 });
      await amend("past the collar: refused before the journal", plain, { price: 5_000 });
      await amend("no such order", "ffffffffffffffffffffffff", { price: 9_500 });
      const ids = cases.map(([, id]) => id);
      await until("A answers them all", async () => (await Promise.all(ids.map(replies))).every((x) => x.length === 1));
      const [[lastEntry]] = await redis.xrevrange(CMD_STREAM, "+", "-", "COUNT", 1);
      await until("A's position durable", async () => (await redis.get(CMD_APPLIED)) === lastEntry);
      await consumerA.stop(); // then dies: B takes over with the state A left

      const first = await answers(ids, 1);
      assert.deepEqual(
        first.map(outcome),
        ["ok", "ok", "ENGINE_POST_ONLY_WOULD_TAKE", "ok", "ok", "ENGINE_AMEND_NO_CHANGE", "ok", "ok", "RISK_PRICE_COLLAR", "TRADING_ORDER_NOT_FOUND"],
        "the live answers the cases are built on",
      );
      assert.equal(service.core.order(top)!.size, 2, "the self-trade cut the amended size");
      assert.equal(service.core.order(postOnly)!.price, 9_700, "the refused amendment changed nothing");

      const consumerB = await startCommandConsumer({ redis, trading: service, lookup: service.core, journalRecords: () => newestRecords(redis, JOURNAL), audit: noAudit, journal, blockMs: 200 });
      try {
        assert.equal(consumerB.answeredAgain, ids.length);
        const again = await answers(ids, 2);
        const got = Object.fromEntries(cases.map(([what], i) => [what, outcome(again[i])]));
        assert.deepEqual(got, {
          "applied, then amended again": "ok",
          "applied, the last": "ok",
          "refused by the engine: post-only would take": "ENGINE_POST_ONLY_WOULD_TAKE",
          "applied, its size cut since by a self-trade": "ok",
          "c's sell, decrementing its own bid": "ok",
          // Refused, and its reason is not in the journal: said so, not answered as applied.
          "nothing to change: refused before the journal": "CLUSTER_REFUSED_BEFORE_FAILOVER",
          "post-only, price moved again later: not known": "CLUSTER_COMMAND_TIMEOUT",
          "post-only, the last": "ok",
          "past the collar: refused before the journal": "CLUSTER_REFUSED_BEFORE_FAILOVER",
          "no such order": "TRADING_ORDER_NOT_FOUND",
        });
        // The engine's refusal word for word, as TradingService.amendOrder threw it.
        assert.deepEqual(again[2].error, first[2].error);
        for (const i of [0, 1, 3, 7]) assert.equal(again[i].value?.orderId, first[i].value?.orderId);
      } finally {
        await consumerB.stop();
      }
    } finally {
      await service.close();
    }
  });
});
