import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { signKucoinRequest } from "../src/auth/kucoinSignature.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";

/**
 * Request bodies at the edge: the client's mistakes are 400s in KuCoin's envelope, never 500s,
 * and nothing is journaled — zero amounts, a key given twice (JSON.parse would keep the last one
 * silently), a body nested deeper than the checks follow.
 */
describe("request bodies at the edge", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let creds: ApiCredentials;
  const a = hardhatAccount(18);
  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain);
    await chain.attest(a.address, "body-edges");
    creds = await loginAndCreateKey(gw.url, a, ["General", "Trade", "Withdraw"]);
    await gw.ctx.trading.deposit(creds.accountId, "VND", 10n ** 9n, "edges-vnd");
    await gw.ctx.trading.deposit(creds.accountId, "GOLD", 100n, "edges-gold");
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  /** Sends exactly `body`, signed (a JSON client could not produce duplicate keys). */
  async function rawSigned(path: string, body: string) {
    const headers = signKucoinRequest({ method: "POST", pathWithQuery: path, body, ...creds, timestamp: Date.now() });
    const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
    return { status: res.status, ...((await res.json()) as { code: string; senCode: string; msg: string }) };
  }

  it("a withdrawal of 0 (as \"0\", 0, \"0.0\" or \"0.000\") is refused with 400, and nothing is journaled", async () => {
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

  it("an order whose side is given twice is a 400 and changes nothing", async () => {
    const seq = gw.ctx.trading.lastSeq;
    const r = await rawSigned("/api/v1/orders", '{"clientOid":"dup-1","side":"buy","symbol":"GOLD-VND","type":"limit","price":"10000","size":"1","side":"sell"}');
    assert.equal(r.status, 400);
    assert.deepEqual([r.code, r.senCode], ["400100", "VALIDATION"]);
    assert.match(r.msg, /"side" appears twice/);
    assert.equal(gw.ctx.trading.lastSeq, seq, "nothing journaled");
  });

  it("a body nested deeper than the checks follow (JSON.parse still takes it) is a 400, not a 500", async () => {
    const r = await rawSigned("/api/v1/orders", "[".repeat(20_000) + "]".repeat(20_000));
    assert.equal(r.status, 400);
    assert.equal(r.senCode, "VALIDATION");
  });
});
