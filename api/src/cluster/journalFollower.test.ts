import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { redisServerPath, startRedis, type RedisServer } from "../../test/support/redisServer.ts";
import { until } from "../../test/support/until.ts";
import { JournalError } from "../errors/SenError.ts";
import { encodeJson } from "../journal/jsonCodec.ts";
import { createRedisJournal } from "../journal/redisJournal.ts";
import { MarketData } from "../marketdata/marketData.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import type { TradingEvent } from "../trading/events.ts";
import { TradingService, type PlaceInput } from "../trading/tradingService.ts";
import { limitOrder } from "../trading/testing/limitOrders.ts";
import { startJournalFollower } from "./journalFollower.ts";

const skip = redisServerPath() === null ? "redis-server not installed" : undefined;
if (skip) console.log(`# skipping journal follower tests: ${skip}`);

const S = "GOLD-VND";
let server: RedisServer;
let n = 0;
const freshStream = () => `sen:journal:follower:${process.pid}:${++n}`;

const order = (accountId: string, side: "buy" | "sell", price: number, size: number, i: number): PlaceInput => limitOrder(accountId, side, price, size, `c${i}`);

/** The sequencer as today: a TradingService on the Redis journal, with market data and a listener. */
async function openSequencer(stream: string) {
  const catalog = defaultCatalog();
  const events: TradingEvent[] = [];
  // Market data numbers the level-2 events as they are applied (context.ts): on both sides.
  const marketData = new MarketData(catalog.markets.keys(), () => 1n);
  const { service } = await TradingService.open({
    core: { catalog, feeAccount: "fees" },
    journal: createRedisJournal({ url: server.url, stream }),
    risk: structuredClone(DEFAULT_RISK),
    now: Date.now,
    stateListeners: [marketData.handle],
    listeners: [(e) => events.push(e)],
  });
  return { service, events };
}

function openReplica() {
  const catalog = defaultCatalog();
  const marketData = new MarketData(catalog.markets.keys(), () => 1n);
  const events: TradingEvent[] = [];
  const service = TradingService.follower({ core: { catalog, feeAccount: "fees" }, risk: structuredClone(DEFAULT_RISK), now: Date.now, stateListeners: [marketData.handle] });
  service.subscribe((e) => events.push(e));
  return { service, events, marketData };
}

/** Events as subscribers see them, comparable across processes (object identity aside). */
const plain = (events: TradingEvent[]) => JSON.parse(encodeJson(events)) as unknown;

describe("journal follower: a replica of the sequencer from sen:journal", { skip }, () => {
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await server?.stop();
  });

  it("applies every record in order and gives the sequencer's events; waitFor resolves at a seq", async () => {
    const stream = freshStream();
    const seqr = await openSequencer(stream);
    for (const a of ["a", "b"]) {
      await seqr.service.deposit(a, "VND", 100_000_000n, `v-${a}`);
      await seqr.service.deposit(a, "GOLD", 1_000n, `g-${a}`);
    }
    await seqr.service.placeOrder(order("a", "sell", 10_000, 5, 1));
    // Started mid-stream: it replays from the first record, then follows live.
    const replica = openReplica();
    const fatal: unknown[] = [];
    const follower = startJournalFollower({ url: server.url, stream, replica: replica.service, onFatal: (e) => fatal.push(e), blockMs: 200 });
    try {
      await follower.caughtUp;
      assert.equal(follower.lastSeq, seqr.service.lastSeq);
      for (let i = 0; i < 20; i++) {
        await seqr.service.placeOrder(order("b", "buy", 10_000 + (i % 3) * 100, 1, 100 + i));
        await seqr.service.placeOrder(order("a", "sell", 10_100, 1, 200 + i));
      }
      const last = (await seqr.service.cancelAll("a", "user")).length;
      assert.ok(last > 0);
      await follower.waitFor(seqr.service.lastSeq, 5_000);
      assert.deepEqual(replica.service.core.l2(S, 50), seqr.service.core.l2(S, 50));
      assert.deepEqual(replica.service.core.ledger.balance("a", "VND"), seqr.service.core.ledger.balance("a", "VND"));
      assert.equal(replica.service.core.tradeCount, seqr.service.core.tradeCount);
      // The live events the sequencer delivered after durability are the replica's last ones, in order.
      assert.deepEqual(plain(replica.events.slice(-seqr.events.length)), plain(seqr.events));
      assert.ok(replica.marketData.best(S).sequence > 0);
      assert.deepEqual(fatal, []);
      // The replica refuses commands: they belong to the sequencer.
      await assert.rejects(replica.service.placeOrder(order("a", "sell", 10_000, 1, 999)), { code: "CLUSTER_REPLICA_READ_ONLY" });
      assert.equal(replica.service.lastSeq, seqr.service.lastSeq);
    } finally {
      await follower.close();
      await seqr.service.close();
    }
  });

  it("keeps following across a Redis restart, reading on from its last record", async () => {
    const stream = freshStream();
    let seqr = await openSequencer(stream);
    await seqr.service.deposit("a", "VND", 1_000n, "v1");
    const replica = openReplica();
    const follower = startJournalFollower({ url: server.url, stream, replica: replica.service, onFatal: () => undefined, blockMs: 200 });
    try {
      await follower.waitFor(1n, 5_000);
      await seqr.service.close().catch(() => undefined);
      await server.kill9();
      await server.restart();
      seqr = await openSequencer(stream); // the AOF kept record 1
      await seqr.service.deposit("a", "VND", 2_000n, "v2");
      await follower.waitFor(2n, 10_000);
      assert.equal(replica.service.core.ledger.balance("a", "VND").available, 3_000n);
    } finally {
      await follower.close();
      await seqr.service.close();
    }
  });

  it("stops (onFatal, waiters rejected) at a gap instead of skipping it", async () => {
    const stream = freshStream();
    const redis = new Redis(server.url);
    const rec = (ref: string) => encodeJson({ t: "deposit", ts: Date.now(), accountId: "a", currency: "VND", amount: "5", ref });
    await redis.xadd(stream, "1-0", "d", rec("r1"));
    await redis.xadd(stream, "3-0", "d", rec("r3")); // record 2 is missing
    const replica = openReplica();
    const fatal: JournalError[] = [];
    const follower = startJournalFollower({ url: server.url, stream, replica: replica.service, onFatal: (e) => fatal.push(e), blockMs: 200 });
    try {
      await assert.rejects(follower.waitFor(3n, 5_000), { code: "JOURNAL_CORRUPT" });
      await until("fatal reported", () => fatal.length === 1);
      assert.match(fatal[0].message, /record 3 follows record 1/);
      assert.equal(replica.service.lastSeq, 1n);
      assert.equal(replica.service.core.ledger.balance("a", "VND").available, 5n);
    } finally {
      await follower.close();
      redis.disconnect();
    }
  });

  it("stops at a record the replica cannot apply", async () => {
    const stream = freshStream();
    const redis = new Redis(server.url);
    await redis.xadd(stream, "1-0", "d", "{not json");
    const replica = openReplica();
    const fatal: JournalError[] = [];
    const follower = startJournalFollower({ url: server.url, stream, replica: replica.service, onFatal: (e) => fatal.push(e), blockMs: 200 });
    try {
      await until("fatal reported", () => fatal.length === 1);
      assert.equal(fatal[0].code, "JOURNAL_CORRUPT");
      assert.equal(replica.service.lastSeq, 0n);
    } finally {
      await follower.close();
      redis.disconnect();
    }
  });
});
