import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { signKucoinRequest } from "../src/auth/kucoinSignature.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";

/** A signed body with a key given twice is refused: JSON.parse would keep the last one silently. */
describe("duplicate keys in a signed body", () => {
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

  it("an order whose side is given twice is a 400 and changes nothing", async () => {
    const a = hardhatAccount(18);
    await chain.attest(a.address, "dup-keys");
    const creds = await loginAndCreateKey(gw.url, a);
    await gw.ctx.trading.deposit(creds.accountId, "VND", 10n ** 9n, "dup-dep");
    await gw.ctx.trading.deposit(creds.accountId, "VGB30", 100n, "dup-dep-2");
    const seq = gw.ctx.trading.lastSeq;
    const body = '{"clientOid":"dup-1","side":"buy","symbol":"VGB30-VND","type":"limit","price":"10000","size":"1","side":"sell"}';
    const headers = signKucoinRequest({ method: "POST", pathWithQuery: "/api/v1/orders", body, ...creds, timestamp: Date.now() });
    const res = await fetch(`${gw.url}/api/v1/orders`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
    const json = (await res.json()) as { code: string; senCode: string; msg: string };
    assert.equal(res.status, 400);
    assert.deepEqual([json.code, json.senCode], ["400100", "VALIDATION"]);
    assert.match(json.msg, /"side" appears twice/);
    assert.equal(gw.ctx.trading.lastSeq, seq, "nothing journaled");

    // Nested deeper than the check can follow (JSON.parse still takes it): a 400, not a 500.
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    const deepHeaders = signKucoinRequest({ method: "POST", pathWithQuery: "/api/v1/orders", body: deep, ...creds, timestamp: Date.now() });
    const refused = await fetch(`${gw.url}/api/v1/orders`, { method: "POST", headers: { ...deepHeaders, "content-type": "application/json" }, body: deep });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { senCode: string }).senCode, "VALIDATION");
  });
});
