import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { getJson, loginAndCreateKey, startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { kucoinClient } from "./support/kucoinClient.ts";

type Symbol = { symbol: string; priceLimitRate: string; baseMaxSize: string };

/** /api/v2/symbols says what the pre-trade controls enforce, and follows an operator's change. */
describe("symbol metadata", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  const op = hardhatAccount(17);
  before(async () => {
    chain = await startChain();
    await chain.attest(op.address, "symbols-operator");
    gw = await startTestGateway(chain, { env: { SEN_OPERATORS: op.address.toLowerCase() } });
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  const symbols = async () => (await getJson(`${gw.url}/api/v2/symbols`)) as unknown as Symbol[];

  it("priceLimitRate is the enforced collar and baseMaxSize the enforced maximum, per symbol", async () => {
    const vgb = (await symbols()).find((s) => s.symbol === "GOLD-VND")!;
    assert.equal(vgb.priceLimitRate, String(gw.ctx.trading.risk.defaults.collarBps / 10_000));
    assert.equal(vgb.priceLimitRate, "0.1");
    const operator = kucoinClient(() => gw.url, await loginAndCreateKey(gw.url, op));
    const r = await operator("PUT", "/api/v1/sen/operator/risk-limits", { scope: "symbol", key: "GOLD-VND", reason: "metadata test", limits: { collarBps: 500, maxOrderQty: 1234 } });
    assert.equal(r.code, "200000", JSON.stringify(r));
    const after = await symbols();
    const changed = after.find((s) => s.symbol === "GOLD-VND")!;
    assert.equal(changed.priceLimitRate, "0.05");
    assert.equal(changed.baseMaxSize, "1234");
    assert.equal(after.find((s) => s.symbol === "RIVER-VND")!.priceLimitRate, "0.1", "other symbols keep the default");
  });
});
