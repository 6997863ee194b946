import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getAddress, type Address } from "viem";
import { followTaxPolicy, readTaxPolicy, type TaxPolicy } from "../src/chain/taxPolicy.ts";
import { startChain, type ChainFixture } from "./support/chainFixture.ts";
import { until } from "./support/until.ts";

/**
 * The gateway's read of the vault's tax policy, on the real deployment: the rate it withholds
 * at (0.1%, the deploy's taxRateBps) and the tax account, then each change governance makes,
 * in order, with the block that made it.
 */
describe("the vault's tax policy as the gateway reads it", () => {
  let chain: ChainFixture;
  let vault: Awaited<ReturnType<typeof governed>>;

  const governed = (c: ChainFixture) => c.connection.viem.getContractAt("SettlementVault", c.deployment.contracts.SettlementVault, { client: { wallet: c.wallets.governance } });
  const setPolicy = async (account: Address, rateBps: number) => {
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: await vault.write.setTaxPolicy([account, rateBps]) });
    return receipt.blockNumber;
  };

  before(async () => {
    chain = await startChain();
    vault = await governed(chain);
  });
  after(async () => {
    await chain?.close();
  });

  it("reads the deployed policy: 10 bps booked to the tax account", async () => {
    const p = await readTaxPolicy(chain.publicClient, chain.deployment.contracts.SettlementVault);
    assert.deepEqual(p, { account: getAddress(chain.deployment.roles.taxAccount), rateBps: 10 });
  });

  it("follows governance's changes in chain order, each with its block, also several between two looks", async () => {
    const seen: Array<TaxPolicy & { block: bigint }> = [];
    const follower = await followTaxPolicy({
      publicClient: chain.publicClient,
      vault: chain.deployment.contracts.SettlementVault,
      pollMs: 0,
      onChange: (p, block) => {
        seen.push({ ...p, block });
      },
    });
    try {
      assert.equal(follower.current().rateBps, 10);
      const tax = getAddress(chain.deployment.roles.taxAccount);
      const fees = getAddress(chain.deployment.roles.feeAccount);
      const b1 = await setPolicy(tax, 25);
      await follower.poll();
      assert.deepEqual(seen, [{ account: tax, rateBps: 25, block: b1 }]);
      // Two changes between looks: both delivered, the last one in force.
      const b2 = await setPolicy(fees, 0);
      const b3 = await setPolicy(tax, 10);
      await follower.poll();
      assert.deepEqual(seen.slice(1), [
        { account: fees, rateBps: 0, block: b2 },
        { account: tax, rateBps: 10, block: b3 },
      ]);
      assert.deepEqual(follower.current(), await readTaxPolicy(chain.publicClient, chain.deployment.contracts.SettlementVault));
      await follower.poll();
      assert.equal(seen.length, 3, "a look with nothing new delivers nothing");
    } finally {
      follower.stop();
    }
  });

  it("polls on its own when given an interval, and a failing onChange gets the change again", async () => {
    let failures = 0;
    const seen: number[] = [];
    const follower = await followTaxPolicy({
      publicClient: chain.publicClient,
      vault: chain.deployment.contracts.SettlementVault,
      pollMs: 20,
      onChange: (p) => {
        if (failures++ === 0) throw new Error("the trading service was busy");
        seen.push(p.rateBps);
      },
      onError: () => undefined,
    });
    try {
      await setPolicy(getAddress(chain.deployment.roles.taxAccount), 15);
      await until("the follower delivers 15 bps", async () => seen.includes(15));
      assert.ok(failures >= 2, "delivered again after the failure");
      assert.equal(follower.current().rateBps, 15);
    } finally {
      follower.stop();
    }
  });
});
