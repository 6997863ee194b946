import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { redisSkip, useRedis } from "../../test/support/redisServer.ts";
import { until } from "../../test/support/until.ts";
import { createRedisJournal } from "../journal/redisJournal.ts";
import { defaultCatalog } from "../markets/marketCatalog.ts";
import { DEFAULT_RISK } from "../risk/types.ts";
import type { Order } from "../records/orders.ts";
import { TradingService, type PlaceInput } from "../trading/tradingService.ts";
import { CMD_APPLIED, CMD_STREAM, createCommandClient, replyStream, startCommandConsumer, type CommandClient } from "./commandBus.ts";

const skip = redisSkip("command bus");

const S = "GOLD-VND";

const order = (accountId: string, side: "buy" | "sell", size: number, clientOid: string): PlaceInput => ({
  accountId,
  identityHash: `id-${accountId}`,
  symbol: S,
  side,
  type: "limit",
  price: side === "buy" ? 9_900 : 10_100,
  size,
  tif: "GTC",
  postOnly: false,
  stp: "CN",
  clientOid,
});

/** A sequencer's trading state on the Redis journal, its two accounts funded. */
async function openSequencer(url: string) {
  const journal = createRedisJournal({ url, stream: "sen:journal" });
  // Limits lifted: the tests send hundreds of orders of one account at once.
  const huge = { burst: 1_000_000, perSecond: 1_000_000 };
  const risk = structuredClone(DEFAULT_RISK);
  risk.defaults = { ...risk.defaults, maxOpenOrders: 1_000_000, keyRate: huge, accountRate: huge };
  const { service } = await TradingService.open({ core: { catalog: defaultCatalog(), feeAccount: "fees" }, journal, risk, now: Date.now });
  for (const a of ["a", "b"]) {
    await service.deposit(a, "VND", 1_000_000_000n, `v-${a}`);
    await service.deposit(a, "GOLD", 1_000n, `g-${a}`);
  }
  return { service, journal };
}

const noAudit = { record: () => undefined, flush: async () => undefined };

describe("command bus (sen:cmd in, sen:reply:<node> out)", { skip }, () => {
  const db = useRedis();
  beforeEach(async () => {
    await db.client.flushall();
  });

  it("answers every command of two edges, refusals too, sending one loop turn's replies to an edge in one entry", async () => {
    const redis = db.client;
    const { service, journal } = await openSequencer(db.url);
    const consumer = await startCommandConsumer({ redis, trading: service, audit: noAudit, journal, blockMs: 200 });
    const clients: CommandClient[] = ["edge-1", "edge-2"].map((nodeId) => createCommandClient({ redis, nodeId, blockMs: 200 }));
    try {
      const perEdge = 60;
      const sends = clients.flatMap((c, e) =>
        Array.from({ length: perEdge }, (_, i) => {
          const oid = `e${e}-${i}`;
          // Every tenth asks for more GOLD than the account has: refused, with its reason.
          const input = i % 10 === 9 ? order("b", "sell", 5_000, oid) : order(e === 0 ? "a" : "b", e === 0 ? "buy" : "sell", 1, oid);
          return c.send("placeOrder", [input]).then(
            (r) => ({ oid, ok: true as const, value: r.value as Order, seq: r.seq }),
            (err: unknown) => ({ oid, ok: false as const, err: err as { code?: string; name?: string } }),
          );
        }),
      );
      const results = await Promise.all(sends);
      for (const r of results) {
        const refused = Number(r.oid.split("-")[1]) % 10 === 9;
        if (refused) {
          assert.equal(r.ok, false, `${r.oid} should be refused`);
          if (!r.ok) assert.equal(r.err.name, "TradingError", `${r.oid}: ${JSON.stringify(r.err)}`);
        } else {
          assert.equal(r.ok, true, `${r.oid}: ${r.ok ? "" : JSON.stringify(r.err)}`);
          // Each answer is its own command's: the order carries that command's clientOid.
          if (r.ok) {
            assert.equal(r.value.clientOid, r.oid);
            assert.ok(r.seq <= service.lastSeq);
          }
        }
      }
      assert.equal(consumer.consumed, 2 * perEdge);
      // All sent at once: the sequencer reads them in a few batches, so fewer entries than replies.
      for (const nodeId of ["edge-1", "edge-2"]) {
        const entries = await redis.xlen(replyStream(nodeId));
        assert.ok(entries < perEdge, `${nodeId}: ${entries} reply entries for ${perEdge} replies`);
      }
    } finally {
      for (const c of clients) await c.close();
      await consumer.stop();
      await service.close();
    }
  });

  it("an open order is answered with its ids (the edge reads its replica), a finished one whole", async () => {
    const redis = db.client;
    const { service, journal } = await openSequencer(db.url);
    const consumer = await startCommandConsumer({ redis, trading: service, audit: noAudit, journal, blockMs: 200 });
    const client = createCommandClient({ redis, nodeId: "edge-1", blockMs: 200 });
    try {
      const resting = await client.send("placeOrder", [order("b", "sell", 2, "rests")]);
      const orderId = service.core.orderByClientOid("b", "rests")!.orderId;
      assert.deepEqual(resting.value, { orderId, clientOid: "rests", isActive: true });
      // Crosses the resting sell and fills at once: finished, so whole (money fields as bigints).
      const { value: taken } = await client.send("placeOrder", [{ ...order("a", "buy", 1, "takes"), price: 10_100 }]);
      const takenOrder = taken as Order;
      assert.equal(takenOrder.isActive, false);
      assert.equal(takenOrder.symbol, S);
      assert.equal(takenOrder.dealSize, 1);
      assert.equal(typeof takenOrder.dealFunds, "bigint");
      // The resting sell, partly filled, then cancelled: finished, so whole.
      const { value: cancelled } = await client.send("cancelOrder", ["b", orderId]);
      assert.equal((cancelled as Order).isActive, false);
      assert.equal((cancelled as Order).dealSize, 1);
      assert.equal((cancelled as Order).clientOid, "rests");
    } finally {
      await client.close();
      await consumer.stop();
      await service.close();
    }
  });

  it("a new sequencer answers again the commands the previous one made durable but never answered", async () => {
    const redis = db.client;
    const { service, journal } = await openSequencer(db.url);
    const client = createCommandClient({ redis, nodeId: "edge-1", blockMs: 200 });
    try {
      const n = 700; // more than one reply entry holds
      const inputs = Array.from({ length: n }, (_, i) => order("a", "buy", 1, `again-${i}`));
      const pending = inputs.map((input) => client.send("placeOrder", [input]));
      for (const p of pending) p.catch(() => undefined);
      await until("the commands queued", async () => (await redis.xlen(CMD_STREAM)) === n);
      // The previous sequencer: applied them all, its position is durable, then it died unheard.
      for (const input of inputs) await service.placeOrder(input);
      const [[lastId]] = await redis.xrevrange(CMD_STREAM, "+", "-", "COUNT", 1);
      await redis.set(CMD_APPLIED, lastId);

      const consumer = await startCommandConsumer({ redis, trading: service, lookup: service.core, audit: noAudit, journal, blockMs: 200 });
      try {
        assert.equal(consumer.answeredAgain, n);
        const answers = await Promise.all(pending);
        answers.forEach((a, i) => assert.equal((a.value as Order).clientOid, `again-${i}`));
        // In entries of up to 500 answers, not one XADD (and one round trip) per command.
        assert.equal(await redis.xlen(replyStream("edge-1")), 2);
        // Not applied a second time: one order per clientOid, none read after the position.
        assert.equal(consumer.consumed, 0);
        assert.equal(inputs.filter((x) => service.core.orderByClientOid("a", x.clientOid) !== undefined).length, n);
      } finally {
        await consumer.stop();
      }
    } finally {
      await client.close();
      await service.close();
    }
  });
  it("an audit command is answered only once the trail has made it durable (the edge hands out what it records on that answer)", async () => {
    const redis = db.client;
    const { service, journal } = await openSequencer(db.url);
    let recorded = 0;
    let release!: () => void;
    const durable = new Promise<void>((r) => (release = r));
    const audit = { record: () => ({ id: `e-${++recorded}`, seq: recorded }), flush: () => durable };
    const consumer = await startCommandConsumer({ redis, trading: service, audit, journal, blockMs: 200 });
    const client = createCommandClient({ redis, nodeId: "edge-1", blockMs: 200 });
    try {
      let answered = false;
      const sent = client.send("audit", [{ type: "auth.login", account: "a" }]).then((r) => ((answered = true), r));
      await until("the sequencer recorded it", async () => recorded === 1);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(answered, false, "answered before the audit line was durable");
      release();
      const r = await sent;
      assert.deepEqual(r.value, { id: "e-1", seq: 1 });
    } finally {
      await client.close();
      await consumer.stop();
      await service.close();
    }
  });

  it("an audit command carries only what an edge may set: seq, id, ts, jseq or a stray key fail that command alone", async () => {
    const redis = db.client;
    const { service, journal } = await openSequencer(db.url);
    const recorded: unknown[] = [];
    const audit = { record: (e: unknown) => (recorded.push(e), { id: `e-${recorded.length}`, seq: recorded.length }), flush: async () => undefined };
    const consumer = await startCommandConsumer({ redis, trading: service, audit, journal, blockMs: 200 });
    const client = createCommandClient({ redis, nodeId: "edge-1", blockMs: 200 });
    try {
      const login = { type: "auth.login", account: "0xab", identityHash: "h", wallet: "0xab", ip: "10.0.0.1", detail: { role: "trader" } };
      const bad: Array<[string, Record<string, unknown>]> = [
        // A ts the log cannot parse back: every later start replays it.
        ["ts", { ...login, ts: "not a time" }],
        ["ts", { ...login, ts: "2020-01-01T00:00:00.000000Z" }],
        ["jseq", { ...login, jseq: 7 }],
        ["seq", { ...login, seq: 0 }],
        ["id", { ...login, id: "forged" }],
        ["txHash", { ...login, txHash: "0x01" }],
        ["type", { ...login, type: "order.filled" }],
        ["account", { ...login, account: 42 }],
      ];
      for (const [key, event] of bad) {
        await assert.rejects(client.send("audit", [event]), (err: { code?: string; message?: string }) => {
          assert.equal(err.code, "CLUSTER_BAD_COMMAND", `${key}: ${JSON.stringify(err)}`);
          assert.match(err.message ?? "", /^bad arguments for audit: /);
          assert.ok(err.message!.includes(key), `${key}: the refusal names it: ${err.message}`);
          return true;
        });
      }
      assert.deepEqual(recorded, [], "a refused audit command reached the trail");
      // The next well-formed one from the same edge is recorded and answered.
      const r = await client.send("audit", [login]);
      assert.deepEqual(r.value, { id: "e-1", seq: 1 });
      const [[entry]] = await redis.xrevrange(CMD_STREAM, "+", "-", "COUNT", 1);
      assert.deepEqual(recorded, [{ ...login, detail: { ...login.detail, commandEntry: entry } }], "with its entry in the stream, which a successor looks for");
    } finally {
      await client.close();
      await consumer.stop();
      await service.close();
    }
  });

  it("a malformed reply fails its own command, and the reader goes on answering the others", { timeout: 15_000 }, async () => {
    const redis = db.client;
    const { service, journal } = await openSequencer(db.url);
    const client = createCommandClient({ redis, nodeId: "edge-1", blockMs: 200 });
    try {
      // No sequencer yet: the command waits in the stream, where its id can be read.
      const first = client.send("placeOrder", [order("a", "buy", 1, "malformed-reply")]);
      first.catch(() => undefined); // judged below, once its reply is in
      await until("the command queued", async () => (await redis.xlen(CMD_STREAM)) === 1);
      const [[, fields]] = await redis.xrange(CMD_STREAM, "-", "+");
      const id = fields[fields.indexOf("id") + 1]!;
      // Valid JSON, no reply: it threw in the reader loop, outside its catch, and ended it.
      await redis.xadd(replyStream("edge-1"), "*", "id", id, "v", "null");
      await assert.rejects(first, (err: { code?: string }) => err.code === "CLUSTER_BAD_COMMAND");
      // The next command is answered (by a sequencer started now): the loop still reads.
      await redis.set(CMD_APPLIED, (await redis.xrevrange(CMD_STREAM, "+", "-", "COUNT", 1))[0]![0]);
      const consumer = await startCommandConsumer({ redis, trading: service, audit: noAudit, journal, blockMs: 200 });
      try {
        const r = await client.send("placeOrder", [order("a", "buy", 1, "after-malformed")]);
        assert.equal((r.value as Order).clientOid, "after-malformed");
      } finally {
        await consumer.stop();
      }
    } finally {
      await client.close();
      await service.close();
    }
  });
});
