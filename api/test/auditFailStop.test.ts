import assert from "node:assert/strict";
import { closeSync, openSync, readdirSync, readlinkSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";

const SYMBOL = "GOLD-VND";

/** The descriptors this process holds on the audit log's event segments. */
function segmentFds(auditDir: string): number[] {
  const fds: number[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${name}`);
      if (path.dirname(target) === auditDir && /^events-\d+\.jsonl$/.test(path.basename(target))) fds.push(Number(name));
    } catch {
      // closed meanwhile
    }
  }
  return fds;
}

/**
 * Every order must be on the audit record before it is accepted. When the audit log's disk
 * fails (here for real: its segment descriptor is swapped for /dev/full, so writes get
 * ENOSPC), the exchange refuses new orders with a 503 and changes nothing.
 */
describe("audit trail failure stops order intake", { skip: process.platform !== "linux" && "needs /proc/self/fd and /dev/full" }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let trader: ApiCredentials;

  before(async () => {
    chain = await startChain();
    const account = hardhatAccount(17); // #12 holds the tax account
    await chain.attest(account.address, "failstop-trader");
    gw = await startTestGateway(chain);
    trader = await loginAndCreateKey(gw.url, account);
    await gw.ctx.trading.deposit(trader.accountId, "VND", 10n ** 10n, "failstop-vnd");
  });
  after(async () => {
    await gw?.close().catch(() => undefined); // the trail cannot flush any more: closing may report it
    await chain?.close();
  });

  it("refuses new orders with a 503 once the audit log cannot write, and changes nothing", async () => {
    const api = kucoinClient(() => gw.url, trader);
    const order = (n: number) => api("POST", "/api/v1/orders", { clientOid: `fs-${n}`, side: "buy", symbol: SYMBOL, type: "limit", price: "9000", size: "1" });
    assert.equal((await order(1)).code, "200000");
    await gw.ctx.audit.flush();

    const auditDir = path.join(gw.dataDir, "audit");
    const fds = segmentFds(auditDir);
    assert.equal(fds.length, 1, `one open segment in ${auditDir}`);
    closeSync(fds[0]);
    const full = openSync("/dev/full", "w"); // takes the lowest free descriptor: the one just closed
    try {
      // Recorded in memory, then the group write fails: the log turns read-only for good.
      await order(2);
      await assert.rejects(gw.ctx.audit.flush(), /AUDIT_IO|write failed/);

      const activeBefore = (await api("GET", `/api/v1/orders?status=active&symbol=${SYMBOL}`)).data as { totalNum: number };
      const refused = await order(3);
      assert.equal(refused.status, 503, JSON.stringify(refused));
      assert.equal(refused.code, "500000");
      assert.match(refused.msg ?? "", /audit trail failure/);
      const activeAfter = (await api("GET", `/api/v1/orders?status=active&symbol=${SYMBOL}`)).data as { totalNum: number };
      assert.equal(activeAfter.totalNum, activeBefore.totalNum, "the refused order is not in the book");
      assert.equal(gw.ctx.trading.core.orderByClientOid(trader.accountId, "fs-3"), undefined);
    } finally {
      if (full !== fds[0]) closeSync(full);
    }
  });
});
