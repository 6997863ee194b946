import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { CMD_APPLIED, CMD_STREAM } from "../src/cluster/commandBus.ts";
import { EXIT_LEASE_LOST } from "../src/cluster/sequencerRole.ts";
import { hardhatAccount } from "./support/chainFixture.ts";
import { startSplitCluster, type SplitCluster } from "./support/clusterFixture.ts";
import { loginAndCreateKey } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";
import { redisServerPath } from "./support/redisServer.ts";
import { startSequencer, type SequencerProcess } from "./support/sequencerProcess.ts";
import { until } from "./support/until.ts";

const skip = redisServerPath() === null ? "redis-server not installed (apt-get install redis-server)" : undefined;
const CLOCK_AHEAD = path.resolve(import.meta.dirname, "support/clockAhead.ts");
const REPLIES = "sen:reply:takeover-test";
const SYMBOL = "GOLD-VND";

type Reply = { ok: boolean; value?: unknown; error?: { name: string; code: string } };

/**
 * What a sequencer taking over does with the commands its predecessor had read, on real
 * processes (SEN_ROLE=sequencer from api/src/main.ts) sharing one data directory and one
 * redis-server; the test is the edge, writing commands to `sen:cmd` and reading its reply
 * stream as an edge's command client does. Each test hands the lease on: the active sequencer
 * dies, the standby started beside it takes over.
 */
describe("a takeover answers and records as the previous sequencer would have", { skip, timeout: 240_000 }, () => {
  let cluster: SplitCluster;
  let r: Redis;
  const all: SequencerProcess[] = [];
  let active: SequencerProcess;
  let activeUrl: string;
  let n = 0;
  /** cancelOrder's arguments for an order that had ended before it (the second test's). */
  let cancelOfEnded: [string, string] | undefined;

  const env = (node: string) => cluster.env("sequencer", node, { shared: "seq" });
  const start = (node: string, options: { nodeArgs?: string[]; env?: Record<string, string> } = {}) => {
    const s = startSequencer({ ...env(node), ...options.env }, { nodeArgs: options.nodeArgs });
    cluster.track(s);
    all.push(s);
    return s;
  };
  /** A command as an edge queues it (commandBus.ts createCommandClient), with an id of the test's. */
  const command = (op: string, args: unknown[]): [string, ...string[]] => {
    const id = `takeover-test:${++n}`;
    return [id, CMD_STREAM, "*", "id", id, "r", REPLIES, "c", JSON.stringify({ op, args })];
  };
  async function send(op: string, args: unknown[]): Promise<string> {
    const [id, ...xadd] = command(op, args);
    await r.xadd(...(xadd as [string, string, ...string[]]));
    return id;
  }
  /** Every reply to command `id` so far, oldest first. */
  async function replies(id: string): Promise<Reply[]> {
    const out: Reply[] = [];
    for (const [, fields] of await r.xrange(REPLIES, "-", "+")) {
      for (let i = 0; i + 3 < fields.length; i += 4) if (fields[i + 1] === id) out.push(JSON.parse(fields[i + 3]) as Reply);
    }
    return out;
  }
  const outcome = (x: Reply) => (x.ok ? "ok" : x.error!.code);
  /** The audit log's lines that contain `text`, read from the shared data directory's segments. */
  function auditLines(text: string): string[] {
    const dir = path.join(env("any").SEN_DATA_DIR, "audit");
    return readdirSync(dir)
      .filter((f) => /^events-\d+\.jsonl$/.test(f))
      .flatMap((f) => readFileSync(path.join(dir, f), "utf8").split("\n"))
      .filter((l) => l.includes(text));
  }
  /** The active sequencer dies (kill -9), the standby `next` takes the lease and serves. */
  async function handOver(next: SequencerProcess): Promise<void> {
    await active.kill9();
    activeUrl = await next.ready;
    active = next;
  }
  /** The outcomes the active sequencer gave commands `ids`, and those `next` gives them again once it took over. */
  async function answeredTwice(ids: string[], next: SequencerProcess): Promise<{ first: string[]; again: string[] }> {
    await until("the active sequencer answers", async () => (await Promise.all(ids.map(replies))).every((x) => x.length === 1));
    const first = await Promise.all(ids.map(async (id) => outcome((await replies(id))[0])));
    await handOver(next);
    await until("the successor answers them again", async () => (await Promise.all(ids.map(replies))).every((x) => x.length === 2), 20_000);
    const again = await Promise.all(ids.map(async (id) => outcome((await replies(id))[1])));
    return { first, again };
  }

  before(async () => {
    cluster = await startSplitCluster({ SEN_CHAIN_POLL_MS: "100" });
    r = new Redis(cluster.redis.url);
    active = start("seq-a");
    activeUrl = await active.ready;
  });

  after(async () => {
    r?.disconnect();
    await cluster?.close();
  });

  it("an audit command whose line became durable and whose position did not is recorded once, by the predecessor", async () => {
    const b = start("seq-b");
    await b.standby;
    const positionBefore = await r.get(CMD_APPLIED);
    // The command and a pause of every write in Redis, in one transaction: the sequencer still
    // reads the command (a read) and writes its line to the audit log on its disk, but the
    // position its journal then writes waits, and so does the renewal of its lease: it exits
    // on the lease's loss before the position lands. Nothing in the code under test is touched.
    const [id, ...xadd] = command("audit", [{ type: "apiKey.created", account: "acct-takeover", apiKeyId: "key-takeover", detail: { permissions: ["General"] } }]);
    const [[, entryId]] = (await r
      .multi()
      .xadd(...(xadd as [string, string, ...string[]]))
      .client("PAUSE", "5000", "WRITE")
      .exec()) as [[Error | null, string], [Error | null, string]];
    const code = await active.exit;
    assert.ok(code === EXIT_LEASE_LOST || code === 70, `the paused-out sequencer exits on its lease or journal (${code}):\n${active.stderr()}`);
    assert.equal(auditLines('"apiKeyId":"key-takeover"').length, 1, "the line was in the log before it died");
    assert.equal(await r.get(CMD_APPLIED), positionBefore, "and the position was not");
    activeUrl = await b.ready;
    active = b;
    const [answer] = await until("the successor answers the command", async () => {
      const got = await replies(id);
      return got.length > 0 && got;
    }, 20_000);
    assert.equal(answer.ok, true, JSON.stringify(answer));
    const lines = auditLines('"apiKeyId":"key-takeover"');
    assert.equal(lines.length, 1, `one line for the command, not one per sequencer:\n${lines.join("\n")}`);
    const line = JSON.parse(lines[0]) as { id: string; seq: number; detail: Record<string, unknown> };
    assert.deepEqual(answer.value, { id: line.id, seq: line.seq }, "answered with the line the predecessor wrote");
    assert.equal(line.detail.commandEntry, entryId);
    await until("the position durable past it", async () => (await r.get(CMD_APPLIED)) === entryId);
    // A later audit command is recorded as usual.
    const later = await send("audit", [{ type: "apiKey.revoked", account: "acct-takeover", apiKeyId: "key-takeover" }]);
    await until("answered", async () => (await replies(later)).length === 1);
    assert.equal(auditLines('"apiKeyId":"key-takeover"').length, 2);
  });

  it("a refused cancelOrder is answered again with its refusal, an accepted one as done", async () => {
    const trader = hardhatAccount(13);
    await cluster.chain.attest(trader.address, "takeover-13");
    await cluster.chain.fundAndDeposit(13, { vnd: 10n ** 12n });
    const creds = await loginAndCreateKey(activeUrl, trader);
    const api = kucoinClient(() => activeUrl, creds);
    await until("the deposit credited", async () => {
      const res = await api("GET", "/api/v1/accounts?currency=VND");
      return (res.data as Array<{ available: string }>).some((a) => Number(a.available) > 0);
    }, 30_000);
    const place = async (clientOid: string) => {
      const res = await api("POST", "/api/v1/orders", { clientOid, side: "buy", symbol: SYMBOL, type: "limit", price: "9000", size: "1" });
      assert.equal(res.code, "200000", JSON.stringify(res));
      return (res.data as { orderId: string }).orderId;
    };
    const ended = await place("takeover-ended");
    assert.equal((await api("DELETE", `/api/v1/orders/${ended}`)).code, "200000");
    const open = await place("takeover-open");

    const c = start("seq-c");
    await c.standby;
    cancelOfEnded = [creds.accountId, ended];
    const refused = await send("cancelOrder", cancelOfEnded);
    const cancelled = await send("cancelOrder", [creds.accountId, open]);
    const missing = await send("cancelOrder", [creds.accountId, "ffffffffffffffffffffffff"]);
    const { first, again } = await answeredTwice([refused, cancelled, missing], c);
    assert.deepEqual(first, ["TRADING_ORDER_NOT_ACTIVE", "ok", "TRADING_ORDER_NOT_FOUND"]);
    assert.deepEqual(again, first, "the answers again are the first answers");
  });

  it("an amendment is answered again as the core answered it: applied though amended again since, refused with the engine's code", async () => {
    const trader = hardhatAccount(14);
    await cluster.chain.attest(trader.address, "takeover-14");
    await cluster.chain.fundAndDeposit(14, { vnd: 10n ** 12n, gold: 10n });
    const creds = await loginAndCreateKey(activeUrl, trader);
    const api = kucoinClient(() => activeUrl, creds);
    for (const currency of ["VND", "GOLD"]) {
      await until(`the ${currency} deposit credited`, async () => {
        const res = await api("GET", `/api/v1/accounts?currency=${currency}`);
        return (res.data as Array<{ available: string }> | undefined)?.some((a) => Number(a.available) > 0);
      }, 30_000);
    }
    const place = async (clientOid: string, side: "buy" | "sell", price: string, postOnly = false) => {
      const res = await api("POST", "/api/v1/orders", { clientOid, side, symbol: SYMBOL, type: "limit", price, size: "1", postOnly });
      assert.equal(res.code, "200000", JSON.stringify(res));
      return (res.data as { orderId: string }).orderId;
    };
    const plain = await place("takeover-amended", "buy", "9200");
    await place("takeover-ask", "sell", "9500");
    const postOnly = await place("takeover-post-only", "buy", "9100", true);

    const e = start("seq-e");
    await e.standby;
    // Prices in the quote's smallest unit (VND has no decimals): the engine's units; all within the price collar.
    const ids = [
      await send("amendOrder", [creds.accountId, plain, { price: 9300 }]),
      await send("amendOrder", [creds.accountId, plain, { price: 9400 }]),
      await send("amendOrder", [creds.accountId, postOnly, { price: 9500 }]), // would take the ask
    ];
    const { first, again } = await answeredTwice(ids, e);
    assert.deepEqual(first, ["ok", "ok", "ENGINE_POST_ONLY_WOULD_TAKE"]);
    assert.deepEqual(again, first, "the answers again are the first answers");
  });

  it("the commands answered again are those before the position, whatever the successor's clock says", async () => {
    assert.ok(cancelOfEnded, "needs the order of the cancel test");
    // A host whose clock runs two minutes ahead of Redis's (answerAgainMs is one minute).
    const d = start("seq-d", { nodeArgs: ["--import", CLOCK_AHEAD], env: { TEST_CLOCK_AHEAD_MS: "120000" } });
    await d.standby;
    const id = await send("cancelOrder", cancelOfEnded);
    await until("the active sequencer answers", async () => (await replies(id)).length === 1);
    await handOver(d);
    const skew = ((await (await fetch(`${activeUrl}/api/v1/timestamp`)).json()) as { data: number }).data - Date.now();
    assert.ok(skew > 100_000, `the successor's clock is ahead (${skew} ms)`);
    await until("the successor answers it again", async () => (await replies(id)).length === 2, 20_000);
    assert.deepEqual((await replies(id)).map(outcome), ["TRADING_ORDER_NOT_ACTIVE", "TRADING_ORDER_NOT_ACTIVE"]);
  });
});
