import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPublicClient, http } from "viem";
import { startChainServices, type ChainServices } from "../src/chain/chainServices.ts";
import { startChain, type ChainFixture } from "./support/chainFixture.ts";
import { startFaultyRpc } from "./support/faultyRpc.ts";
import { startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";
import { until } from "./support/until.ts";

type Health = { status: string; journal: string; audit: string; chain: string };

/** When the chain stops answering, /health and /api/v1/status say so (trading goes on; settlement waits). */
describe("chain health", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let services: ChainServices;
  let rpc: Awaited<ReturnType<typeof startFaultyRpc>>;
  before(async () => {
    chain = await startChain({ serve: true });
    rpc = await startFaultyRpc(chain.rpcUrl!);
    gw = await startTestGateway(chain);
    const publicClient = createPublicClient({ transport: http(rpc.url), cacheTime: 0 });
    services = await startChainServices({ ctx: gw.ctx, publicClient, walletClient: chain.operatorWallet, contracts: chain.deployment.contracts, startBlock: BigInt(chain.deployment.startBlock), confirmations: 0, pollMs: 100 });
  });
  after(async () => {
    await services?.stop();
    await gw?.close();
    await rpc?.close();
    await chain?.close();
  });

  const health = async () => {
    const res = await fetch(`${gw.url}/health`);
    return { code: res.status, body: (await res.json()) as Health };
  };
  const status = async () => ((await (await fetch(`${gw.url}/api/v1/status`)).json()) as { data: { status: string; msg: string } }).data;

  it("reports the chain degraded while it does not answer, and ok again once it does", async () => {
    assert.deepEqual((await health()).body.chain, "ok");
    rpc.rateLimit("eth_blockNumber");
    const h = await until("chain degraded", async () => {
      const r = await health();
      return r.body.chain === "degraded" && r;
    });
    assert.equal(h.code, 200, "trading goes on: the gateway stays in service");
    assert.equal(h.body.status, "degraded");
    assert.deepEqual([h.body.journal, h.body.audit], ["ok", "ok"]);
    const s = await status();
    assert.equal(s.status, "open");
    assert.match(s.msg, /chain not answering/);
    rpc.rateLimit(undefined);
    await until("chain ok", async () => (await health()).body.chain === "ok");
    assert.deepEqual(await status(), { status: "open", msg: "" });
  });
});
