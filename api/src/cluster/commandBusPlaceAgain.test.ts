import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { redisSkip, useRedis } from "../../test/support/redisServer.ts";
import { until } from "../../test/support/until.ts";
import { openAuditLog } from "../compliance/audit/auditLog.ts";
import { AuditTrail } from "../compliance/audit/auditTrail.ts";
import { openSqliteAuditIndex } from "../compliance/audit/sqliteAuditIndex.ts";
import { createTradingRecorder } from "../compliance/audit/tradingRecorder.ts";
import { createRedisJournal } from "../journal/redisJournal.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import { MarketUnits } from "../markets/marketUnits.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import { limitOrder } from "../trading/testing/limitOrders.ts";
import { TradingService, type PlaceInput } from "../trading/tradingService.ts";
import { CMD_APPLIED, CMD_STREAM, startCommandConsumer } from "./commandBus.ts";
import { commandStream, outcome } from "./testing/commandStream.ts";

const JOURNAL = "sen:journal";
const REPLIES = "sen:reply:place-again";


const tmp = mkdtempSync(join(tmpdir(), "sen-place-again-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A successor answering again the orders its predecessor refused before the journal: sequencer
 * A answers each place live, records each refusal in the audit trail (the trading recorder, as
 * the wiring attaches it), and dies; B, with the same state and the same log, answers them again.
 * A refusal whose line became durable is answered with its own code and words; one that did not,
 * or one that cannot be told from another command's (the same clientOid sent twice), is answered
 * as lost, as before.
 */
describe("command bus: places refused before the journal, answered again after a takeover", { skip: redisSkip("places answered again") }, () => {
  const db = useRedis();

  it("answers a durable refusal with its own code and message, and what the log cannot tell apart as lost", async () => {
    const redis = db.client;
    await redis.flushall();
    const catalog = defaultCatalog();
    const journal = createRedisJournal({ url: db.url, stream: JOURNAL });
    const { service } = await TradingService.open({ core: { catalog, feeAccount: "fees" }, journal, risk: structuredClone(DEFAULT_RISK), now: Date.now });
    const log = await openAuditLog({ dir: join(tmp, "audit"), signingKey: generateKeyPairSync("ed25519"), fsync: "batch", checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
    // Flushed by hand below: what is durable when A dies is the test's to choose.
    const trail = await AuditTrail.open({ log, index: openSqliteAuditIndex(join(tmp, "index.sqlite")), logger: pino({ level: "silent" }), flushEveryMs: 3_600_000 });
    service.setObserver(
      createTradingRecorder({ catalog, format: new MarketUnits(catalog), append: (e) => trail.append(e), flush: () => trail.flush(), refPrice: () => 0, audited: { seq: 0n, eventsOfSeq: 0 } }),
    );
    try {
      for (const a of ["a", "b"]) {
        await service.deposit(a, "VND", 1_000_000_000n, `v-${a}`);
        await service.deposit(a, "GOLD", 1_000n, `g-${a}`);
      }
      // A book to hold the collar against: bid 9,900, ask 10,100.
      await service.placeOrder(limitOrder("b", "sell", 10_100, 1, "ask"));
      await service.placeOrder(limitOrder("b", "buy", 9_900, 1, "bid"));

      const commands = commandStream(redis, REPLIES, "place-again");
      const send = (input: PlaceInput) => commands.send("placeOrder", [input]);
      const { replies, answers } = commands;

      const consumerA = await startCommandConsumer({ redis, trading: service, audit: trail, journal, blockMs: 200 });
      const cases: Array<[what: string, id: string]> = [];
      const place = async (what: string, input: PlaceInput) => {
        cases.push([what, await send(input)]);
        await until(`A answers "${what}"`, async () => (await replies(cases.at(-1)![1])).length === 1);
      };
      await place("past the collar", limitOrder("a", "buy", 5_000, 1, "far"));
      await place("an unknown symbol", { ...limitOrder("a", "buy", 10_000, 1, "nowhere"), symbol: "NOPE-VND" });
      await place("accepted", limitOrder("a", "buy", 9_800, 1, "fine"));
      await place("the same clientOid refused twice: first", limitOrder("a", "buy", 5_000, 1, "twice"));
      await place("the same clientOid refused twice: second", limitOrder("a", "buy", 5_000, 1, "twice"));
      await trail.flush(); // every refusal so far durable in the log
      await place("refused, its line not yet durable", limitOrder("a", "buy", 5_000, 1, "late"));
      const ids = cases.map(([, id]) => id);
      const [[lastEntry]] = await redis.xrevrange(CMD_STREAM, "+", "-", "COUNT", 1);
      await until("A's position durable", async () => (await redis.get(CMD_APPLIED)) === lastEntry);
      await consumerA.stop(); // then dies: B takes over with the state and the durable log A left

      const first = await answers(ids, 1);
      assert.deepEqual(
        first.map(outcome),
        // Refused, the first "twice" left no order, so the second is refused by the collar too, not as a duplicate.
        ["RISK_PRICE_COLLAR", "TRADING_UNKNOWN_SYMBOL", "ok", "RISK_PRICE_COLLAR", "RISK_PRICE_COLLAR", "RISK_PRICE_COLLAR"],
        "the live answers the cases are built on",
      );

      const consumerB = await startCommandConsumer({ redis, trading: service, lookup: service.core, audit: trail, journal, blockMs: 200 });
      try {
        assert.equal(consumerB.answeredAgain, ids.length);
        const again = await answers(ids, 2);
        const got = Object.fromEntries(cases.map(([what], i) => [what, outcome(again[i])]));
        assert.deepEqual(got, {
          "past the collar": "RISK_PRICE_COLLAR",
          "an unknown symbol": "TRADING_UNKNOWN_SYMBOL",
          accepted: "ok",
          // Two commands, two refusals of one clientOid: whose reason is whose is not told by the log.
          "the same clientOid refused twice: first": "CLUSTER_REFUSED_BEFORE_FAILOVER",
          "the same clientOid refused twice: second": "CLUSTER_REFUSED_BEFORE_FAILOVER",
          "refused, its line not yet durable": "CLUSTER_REFUSED_BEFORE_FAILOVER",
        });
        // The refusals word for word, as TradingService threw them the first time.
        assert.deepEqual(again[0].error, first[0].error);
        assert.deepEqual(again[1].error, first[1].error);
        assert.equal(again[2].value?.orderId, first[2].value?.orderId);
      } finally {
        await consumerB.stop();
      }
    } finally {
      await trail.close();
      await service.close();
    }
  });
});
