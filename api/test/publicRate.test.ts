import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { rawRequest, signedClient } from "./support/httpProbe.ts";

/** Unauthenticated routes are throttled per client address (SEN_PUBLIC_RATE), like KuCoin's public limits. */
describe("public rate limit", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;

  before(async () => {
    chain = await startChain();
    await chain.attest(hardhatAccount(25).address, "rate-trader");
    gw = await startTestGateway(chain, { env: { SEN_PUBLIC_RATE: "5/0.5" } });
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("answers 429 (429000) past the burst, and leaves signed routes alone", async () => {
    const trader = await loginAndCreateKey(gw.url, hardhatAccount(25)); // the SIWE nonce is one public call
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await rawRequest(gw.url, { method: "GET", path: "/api/v1/timestamp" });
      codes.push(`${r.status} ${(r.json as { code: string }).code}`);
    }
    // what the login left of the burst of 5 is served, then everything is refused
    const served = codes.findIndex((c) => c !== "200 200000");
    assert.ok(served >= 1 && served <= 5, codes.join(", "));
    assert.ok(codes.slice(served).every((c) => c === "429 429000"), codes.join(", "));
    assert.equal((await signedClient(gw.url, trader)("GET", "/api/v1/accounts")).code, "200000");
  });
});
