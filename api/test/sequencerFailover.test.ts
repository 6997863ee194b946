import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createCommandClient, type CommandClient } from "../src/cluster/commandBus.ts";
import { readLease } from "../src/cluster/lease.ts";
import { EXIT_LEASE_LOST } from "../src/cluster/sequencerRole.ts";
import { decodeJson } from "../src/journal/jsonCodec.ts";
import type { PlaceInput } from "../src/trading/tradingService.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { redisServerPath, startRedis, type RedisServer } from "./support/redisServer.ts";
import { startSequencer, type SequencerProcess } from "./support/sequencerProcess.ts";
import { until } from "./support/until.ts";
import { ledgerBooks, tradeSettledEvents, vaultBooks, type Trader } from "./support/vaultBooks.ts";

const SYMBOL = "GOLD-VND";
const skip = redisServerPath() === null ? "redis-server not installed (apt-get install redis-server)" : undefined;

type Sequencer = SequencerProcess;

/** A sequencer's log line with message `msg` (sequencerRole.ts logs JSON lines to stderr). */
function logLine(s: Sequencer, msg: string): Record<string, unknown> | undefined {
  const line = s.stderr().split("\n").find((l) => l.includes(`"msg":"${msg}"`));
  return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>);
}

/**
 * Sequencer failover on real processes (SEN_ROLE=sequencer from api/src/main.ts) sharing one
 * data directory and one redis-server; the test is the edge, sending commands through the
 * command bus client. kill -9 of the active under load: the hot standby, whose replica followed
 * the journal, takes the lease, promotes that replica to the writer's state (the rest opens as a
 * normal start), answers the commands that were in flight, and the journal
 * holds every acknowledged command exactly once. A paused active (SIGSTOP) is replaced, and on
 * SIGCONT finds its lease gone and exits without writing.
 */
describe("sequencer failover (lease, fencing, command bus)", { skip, timeout: 120_000 }, () => {
  let chain: ChainFixture;
  let redis: RedisServer;
  let r: Redis;
  let client: CommandClient;
  const dataDir = mkdtempSync(path.join(tmpdir(), "sen-seq-"));
  const masterKey = randomBytes(32).toString("hex");
  const operator = hardhatAccount(17);
  const all: Sequencer[] = [];

  const reap = () => {
    for (const s of all) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
    if (redis?.pid !== undefined) process.kill(redis.pid, "SIGKILL");
  };

  function start(node: string): Sequencer {
    const s = startSequencer({
      SEN_NODE_ID: node,
      REDIS_URL: redis.url,
      SEN_MASTER_KEY: masterKey,
      SEN_CHAIN_RPC: chain.rpcUrl!,
      SEN_DEPLOYMENT: chain.deploymentFile!,
      SEN_DATA_DIR: dataDir,
      SEN_OPERATORS: operator.address.toLowerCase(),
      SEN_CONFIRMATIONS: "0",
      SEN_CHAIN_POLL_MS: "100",
      // Deposits, settlement and withdrawals: the active sequencer's chain services.
      SEN_CHAIN_KEY: chain.operatorKey,
      SEN_AUDIT_CHECKPOINT_MS: "3600000",
      // Frequent snapshots keep the journal tail a taking-over standby replays short.
      SEN_SNAPSHOT_EVERY: "200",
      SEN_SNAPSHOT_SPACING: "fixed",
    });
    all.push(s);
    return s;
  }

  /** Every place record in the journal, counted by clientOid. */
  async function placesByClientOid(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const [, fields] of await r.xrange("sen:journal", "-", "+")) {
      const rec = decodeJson(fields[1]) as { t: string; clientOid?: string };
      if (rec.t === "place" && rec.clientOid) counts.set(rec.clientOid, (counts.get(rec.clientOid) ?? 0) + 1);
    }
    return counts;
  }

  before(async () => {
    process.once("exit", reap);
    [chain, redis] = await Promise.all([startChain({ serve: true }), startRedis()]);
    r = new Redis(redis.url);
    client = createCommandClient({ redis: r, nodeId: "test-edge", timeoutMs: 30_000 });
  });

  after(async () => {
    await client?.close();
    reap();
    r?.disconnect();
    await redis?.stop();
    await chain?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("kill -9 of the active under load: the standby takes over, every acknowledged command is journaled once, in-flight ones are answered", async () => {
    const a = start("seq-a");
    const aUrl = await a.ready;
    let active = aUrl;
    const b = start("seq-b");
    const bHealth = await b.standby;
    assert.ok(bHealth, "the standby is hot: it answers /health");
    assert.equal((await readLease(r))?.node, "seq-a");
    assert.equal((await readLease(r))?.http, aUrl, "the lease names the active's URL for edges");

    // Two traders funded in the vault; one order each over HTTP gives the place input shape (units, identity) the bus carries.
    await chain.attest(hardhatAccount(13).address, "failover-13");
    await chain.attest(hardhatAccount(14).address, "failover-14");
    await chain.fundAndDeposit(13, { gold: 1_000_000n });
    await chain.fundAndDeposit(14, { vnd: 10n ** 13n });
    const seller = await loginAndCreateKey(aUrl, hardhatAccount(13));
    const buyer = await loginAndCreateKey(aUrl, hardhatAccount(14));
    const traders: Trader[] = [
      { wallet: hardhatAccount(13).address, client: kucoinClient(() => active, seller) },
      { wallet: hardhatAccount(14).address, client: kucoinClient(() => active, buyer) },
    ];
    await until("deposits credited", async () => Object.values(await ledgerBooks(traders)).filter((b) => b > 0n).length === 2, 30_000);
    for (const [who, creds] of [["sell", seller], ["buy", buyer]] as const) {
      const res = await kucoinClient(() => aUrl, creds)("POST", "/api/v1/orders", { clientOid: `http-${who}`, side: who, symbol: SYMBOL, type: "limit", price: "10000", size: "1" });
      assert.equal(res.code, "200000", JSON.stringify(res));
    }
    const templates = new Map<string, PlaceInput>();
    for (const [, fields] of await r.xrange("sen:journal", "-", "+")) {
      const rec = decodeJson(fields[1]) as PlaceInput & { t: string; ts: number; us?: number; orderId: string };
      if (rec.t !== "place") continue;
      const { t: _t, ts: _ts, us: _us, orderId: _o, apiKeyId: _k, ...input } = rec;
      templates.set(rec.side, input);
    }
    assert.equal(templates.size, 2);

    // A refusal over the bus keeps its code (the edge re-creates it for the error envelope).
    await assert.rejects(client.send("placeOrder", [{ ...templates.get("buy")!, symbol: "NOPE-VND", clientOid: "bad-symbol" }]), (e: Error & { code?: string }) => e.name === "TradingError" && e.code === "TRADING_UNKNOWN_SYMBOL");
    // A malformed command is refused with a clear code and the consumer goes on.
    await assert.rejects(client.send("placeOrder", [{ accountId: 1 }]), (e: Error & { code?: string }) => e.code === "CLUSTER_BAD_COMMAND");
    // So are bytes that are not a command at all, and an op the sequencer does not know.
    const raw = "sen:reply:raw-edge";
    await r.xadd("sen:cmd", "*", "id", "raw-1", "r", raw, "c", "{not json");
    await r.xadd("sen:cmd", "*", "id", "raw-2", "r", raw, "c", JSON.stringify({ op: "withdrawAll", args: [] }));
    const rawReplies = await until("answers to the raw commands", async () => {
      const got = await r.xrange(raw, "-", "+");
      return got.length === 2 && got;
    });
    for (const [, f] of rawReplies) {
      const v = JSON.parse(f[3]) as { ok: boolean; error: { code: string; message: string } };
      assert.equal(v.ok, false);
      assert.equal(v.error.code, "CLUSTER_BAD_COMMAND");
    }

    const acked = new Map<string, bigint>(); // clientOid -> seq in the reply
    const sent = new Set<string>();
    const failures: string[] = [];
    let killedAt = 0;
    const ackedBeforeKill = { n: 0 };
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const side = (w + i) % 2 === 0 ? "sell" : "buy";
        const clientOid = `w${w}-${i}`;
        sent.add(clientOid);
        try {
          const { seq } = await client.send("placeOrder", [{ ...templates.get(side)!, clientOid, size: 1 + ((w + i) % 3) }]);
          acked.set(clientOid, seq);
        } catch (e) {
          failures.push(`${clientOid}: ${(e as Error & { code?: string }).code} ${(e as Error).message}`);
        }
      }
    };
    const workers = Array.from({ length: 12 }, (_, w) => worker(w));
    await until("300 acknowledged commands", () => acked.size >= 300, 30_000);
    // The standby's replica follows the journal live: it holds every acknowledged record.
    const ackedTop = [...acked.values()].reduce((m, q) => (q > m ? q : m), 0n);
    const health = await until("the standby's replica is current", async () => {
      const h = (await (await fetch(`${bHealth}/health`)).json()) as { role: string; replicaSeq: string; lease: { node: string; http: string } | null; node: string };
      return BigInt(h.replicaSeq) >= ackedTop && h;
    });
    assert.equal(health.role, "sequencer-standby");
    assert.equal(health.node, "seq-b");
    assert.equal(health.lease?.node, "seq-a");
    assert.equal(health.lease?.http, aUrl);
    assert.equal(JSON.stringify(health).includes((await r.get("sen:seq:lease"))!.match(/"token":"(\w+)"/)![1]), false, "the lease token is not shown");
    ackedBeforeKill.n = acked.size;
    a.child.kill("SIGKILL");
    killedAt = Date.now();
    assert.equal(await a.exit, null);
    const bUrl = await b.ready;
    active = bUrl;
    const takeoverMs = b.readyAt! - killedAt;
    await until("300 more after the takeover", () => acked.size >= ackedBeforeKill.n + 300, 30_000);
    stop = true;
    await Promise.all(workers);
    const held = logLine(b, "holding the sequencer lease: opening the exchange");
    const activeLine = logLine(b, "sequencer active");
    console.log(`# takeover: standby ready ${takeoverMs} ms after kill -9 (lease ttl 3,000 ms; waited for it ${held?.waitedMs} ms in all, opened in ${activeLine?.openMs} ms, ${activeLine?.mode}: follower stopped in ${activeLine?.stoppedFollowingMs} ms, trading state promoted in ${activeLine?.promoteMs} ms); ${ackedBeforeKill.n} acked before, ${acked.size} in all`);
    assert.equal(activeLine?.mode, "hot", "the standby's replica became the writer (no replay from the snapshot)");
    // The trading state is the replica's: only the records it lacked are read (the rest of the open, audit trail, chain services, answering again, is a normal start's).
    assert.ok(Number(activeLine?.promoteMs) < 2_000, `trading state promoted in ${activeLine?.promoteMs} ms`);

    assert.ok(takeoverMs < 15_000, `standby active ${takeoverMs} ms after the kill`);
    assert.deepEqual(failures, [], "every command sent is answered (those in flight at the kill by the new sequencer)");
    assert.equal(acked.size, sent.size);
    const lease = await readLease(r);
    assert.equal(lease?.node, "seq-b");
    assert.equal(lease?.http, bUrl);
    const counts = await placesByClientOid();
    for (const oid of acked.keys()) assert.equal(counts.get(oid), 1, `acknowledged ${oid} is journaled exactly once`);
    for (const [oid, n] of counts) assert.equal(n, 1, `${oid} journaled once`);
    // Read-your-writes: each reply's seq is at or past the command's own record.
    const lastSeq = BigInt((await r.xrevrange("sen:journal", "+", "-", "COUNT", 1))[0][0].split("-")[0]);
    for (const seq of acked.values()) assert.ok(seq <= lastSeq);
    // Settlement went on across the takeover: every trade settled once, and the vault's books equal the ledger.
    await until(
      "the vault's books equal the ledger",
      async () => {
        const [vault, ledger] = await Promise.all([vaultBooks(chain, traders.map((t) => t.wallet)), ledgerBooks(traders)]);
        return Object.keys(ledger).every((k) => ledger[k] === vault[k]);
      },
      45_000,
    );
    const settled = await tradeSettledEvents(chain);
    assert.ok(settled.length > 100, `${settled.length} trades settled`);
    assert.equal(new Set(settled.map((e) => e.tradeId)).size, settled.length, "no trade settled twice");
    // The command position is durable and names the last command read.
    const top = await r.xrevrange("sen:cmd", "+", "-", "COUNT", 1);
    assert.equal(await r.get("sen:cmd:applied"), top[0][0]);
  });

  it("a paused active is replaced; woken up it finds its lease gone and exits without appending", async () => {
    const b = all.find((s) => s.node === "seq-b")!;
    assert.ok(b.readyAt !== undefined, "needs the active from the first test");
    const c = start("seq-c");
    await c.standby;
    const before = await r.xlen("sen:journal");
    b.child.kill("SIGSTOP");
    const pausedAt = Date.now();
    const cUrl = await c.ready;
    const takeoverMs = c.readyAt! - pausedAt;
    assert.equal((await readLease(r))?.node, "seq-c");
    // The new active takes commands; the paused one holds the data directory's lock no more.
    const template = decodeJson((await r.xrange("sen:journal", "-", "+")).map(([, f]) => f[1]).find((d) => d.includes('"t":"place"'))!) as PlaceInput & Record<string, unknown>;
    const { t: _t, ts: _ts, us: _us, orderId: _o, apiKeyId: _k, ...input } = template;
    const reply = await client.send("placeOrder", [{ ...(input as PlaceInput), clientOid: "after-pause" }]);
    assert.ok(reply.seq > BigInt(before));
    // The new active settles that order's trades (records of its own): wait until it is quiet.
    const lengthBeforeWake = await until("the new active quiet", async () => {
      const n = await r.xlen("sen:journal");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return (await r.xlen("sen:journal")) === n && n;
    });
    b.child.kill("SIGCONT");
    const code = await Promise.race([b.exit, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 10_000))]);
    assert.equal(code, EXIT_LEASE_LOST, "the woken sequencer exits on its lost lease");
    assert.equal(await r.xlen("sen:journal"), lengthBeforeWake, "nothing appended by the woken one");
    assert.equal((await readLease(r))?.node, "seq-c");
    assert.equal((await readLease(r))?.http, cUrl);
    const counts = await placesByClientOid();
    assert.equal(counts.get("after-pause"), 1);
    for (const [oid, n] of counts) assert.equal(n, 1, `${oid} journaled once`);
    const activeLine = logLine(c, "sequencer active");
    console.log(`# paused active replaced: standby ready ${takeoverMs} ms after SIGSTOP (opened in ${activeLine?.openMs} ms, ${activeLine?.mode})`);
    assert.equal(activeLine?.mode, "hot");
    c.child.kill("SIGTERM");
    assert.equal(await c.exit, 0);
    assert.equal(await r.get("sen:seq:lease"), null, "a clean stop gives the lease back");
  });
});
