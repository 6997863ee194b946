import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { rawRequest, signedClient } from "./support/httpProbe.ts";

/** Unauthenticated routes are throttled per client address (SEN_PUBLIC_RATE), like KuCoin's public limits. */
describe("public rate limit", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  // The buckets refill on the gateway's clock: held still, nothing refills between two
  // requests however slowly this machine serves them, and moving it is the only refill.
  let heldAt: number | undefined;
  const clock = () => heldAt ?? Date.now();

  before(async () => {
    chain = await startChain();
    await chain.attest(hardhatAccount(25).address, "rate-trader");
    gw = await startTestGateway(chain, { env: { SEN_PUBLIC_RATE: "5/0.5" }, now: clock });
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("answers 429 (429000) past the burst, refills at the configured rate, and leaves signed routes alone", async () => {
    const burst = async (count: number) => {
      const codes: string[] = [];
      for (let i = 0; i < count; i++) {
        const r = await rawRequest(gw.url, { method: "GET", path: "/api/v1/timestamp" });
        codes.push(`${r.status} ${(r.json as { code: string }).code}`);
      }
      return codes;
    };
    const ok = "200 200000";
    const limited = "429 429000";
    heldAt = Date.now();
    // The login's challenge and login calls are public: they take 2 of the burst of 5.
    const trader = await loginAndCreateKey(gw.url, hardhatAccount(25));
    assert.deepEqual(await burst(8), [ok, ok, ok, limited, limited, limited, limited, limited]);
    // 0.5 a second: two seconds give one request, one second half of one.
    heldAt += 2_000;
    assert.deepEqual(await burst(3), [ok, limited, limited]);
    heldAt += 1_000;
    assert.deepEqual(await burst(1), [limited]);
    heldAt += 1_000;
    assert.deepEqual(await burst(2), [ok, limited]);
    // A full bucket holds no more than the burst, however long it was idle.
    heldAt += 60_000;
    assert.deepEqual(await burst(6), [ok, ok, ok, ok, ok, limited]);
    // Signed requests carry the real time, checked against the gateway's clock.
    heldAt = undefined;
    assert.equal((await signedClient(gw.url, trader)("GET", "/api/v1/accounts")).code, "200000");
  });
});
