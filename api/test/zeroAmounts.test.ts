import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";

/** Amounts of zero are the client's mistake: a 400 in KuCoin's envelope, never a 500, and nothing changes. */
describe("zero amounts", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain);
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("a withdrawal of 0 (as \"0\", 0 or \"0.0\") is refused with 400, and nothing is journaled", async () => {
    const a = hardhatAccount(18);
    await chain.attest(a.address, "zero-amounts");
    const creds = await loginAndCreateKey(gw.url, a, ["General", "Trade", "Withdraw"]);
    await gw.ctx.trading.deposit(creds.accountId, "VND", 1_000_000n, "zero-dep");
    const k = kucoinClient(() => gw.url, creds);
    const seq = gw.ctx.trading.lastSeq;
    for (const amount of ["0", 0, "0.0", "0.000"]) {
      const r = await k("POST", "/api/v3/withdrawals", { currency: "VND", toAddress: a.address, amount });
      assert.equal(r.status, 400, `${JSON.stringify(amount)}: ${JSON.stringify(r)}`);
      assert.equal(r.code, "400100");
      assert.ok(r.senCode === "TRADING_BAD_AMOUNT" || r.senCode === "VALIDATION", r.senCode);
    }
    assert.equal(gw.ctx.trading.lastSeq, seq, "nothing journaled");
  });
});
