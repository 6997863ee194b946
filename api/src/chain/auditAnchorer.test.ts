import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { createPublicClient, http, type Address, type PublicClient } from "viem";
import { startChain, type ChainFixture } from "../../test/support/chainFixture.ts";
import { startFaultyRpc } from "../../test/support/faultyRpc.ts";
import { openAuditLog, type AuditLog } from "../compliance/audit/auditLog.ts";
import { auditAnchorAbi, startAuditAnchorer } from "./auditAnchorer.ts";

/**
 * An anchor transaction mined whose receipt the gateway never saw (the RPC provider refused
 * eth_getTransactionReceipt with HTTP 429 after the transaction was sent): the anchorer must
 * take the chain's word for where the anchors end, not its own, or every later anchor starts
 * from a stale position and reverts (AnchorNotContiguous) until a restart.
 *
 * The real AuditAnchor contract on Hardhat's chain, served over JSON-RPC; the anchorer reads
 * through an HTTP hop that rate-limits one method, as a hosted provider does, and sends with
 * the auditor's wallet straight to the chain (so the transaction really is mined).
 */
describe("audit anchorer: a lost receipt does not stop anchoring", () => {
  const tmp = mkdtempSync(join(tmpdir(), "sen-anchorer-"));
  let chain: ChainFixture;
  let rpc: Awaited<ReturnType<typeof startFaultyRpc>>;
  let log: AuditLog;
  let publicClient: PublicClient;
  let contract: Address;
  const warnings: string[] = [];

  before(async () => {
    chain = await startChain({ serve: true });
    rpc = await startFaultyRpc(chain.rpcUrl!);
    publicClient = createPublicClient({ transport: http(rpc.url), cacheTime: 0, pollingInterval: 50 });
    contract = chain.deployment.contracts.AuditAnchor;
    let t = BigInt(Date.parse("2026-11-23T10:00:00Z")) * 1000n;
    log = await openAuditLog({ dir: join(tmp, "log"), signingKey: generateKeyPairSync("ed25519"), now: () => ++t, checkpointEvery: { events: 1_000_000, ms: 3_600_000 } });
  });
  after(async () => {
    await log?.close();
    await rpc?.close();
    await chain?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const onChain = async () => Number((await chain.publicClient.readContract({ address: contract, abi: auditAnchorAbi, functionName: "latest" }))[0]);
  const grow = async (to: number) => {
    while (log.size < to) log.append({ type: "order.filled", account: `acc-${log.size % 3}`, symbol: "GOLD-VND", side: "buy", price: "1000", qty: "1", tradeId: `t-${log.size}` });
    await log.checkpointNow();
  };

  it("after a mined anchor whose receipt was lost, the next anchor starts where the chain says", async () => {
    const logger = pino(
      { level: "info" },
      {
        write(line: string) {
          const entry = JSON.parse(line) as { level: number; msg: string };
          if (entry.level >= 40) warnings.push(entry.msg);
        },
      },
    );
    const anchorer = await startAuditAnchorer({ log, logger, publicClient, walletClient: chain.wallets.auditor, contract, chainId: await chain.publicClient.getChainId(), everyMs: 3_600_000 });
    try {
      await grow(10);
      rpc.rateLimit("eth_getTransactionReceipt");
      await anchorer.anchorNow();
      // The fault is the one meant: the anchor is on chain, the gateway saw it fail.
      assert.ok(rpc.refusedCount("eth_getTransactionReceipt") > 0);
      assert.equal(await onChain(), 10, "the anchor transaction was mined");
      assert.deepEqual(warnings, ["audit anchoring failed; will retry"]);
      assert.equal(log.checkpoints()[0].anchor, undefined, "no receipt, no record yet");
      rpc.rateLimit(undefined);

      await grow(20);
      await anchorer.anchorNow();
      assert.equal(await onChain(), 20, `the next anchor covers [10, 20): ${warnings.join("; ")}`);
      assert.equal(anchorer.describe().anchoredTreeSize, 20);
      assert.deepEqual(warnings.slice(1), ["audit anchor position re-read from the chain after a failed attempt"], "no attempt failed after the fault ended");
      // Both checkpoints carry their anchor: the first from its late receipt.
      const [first, second] = log.checkpoints();
      assert.deepEqual([first.treeSize, second.treeSize], [10, 20]);
      assert.ok(first.anchor && second.anchor);
      const mined = await chain.publicClient.getTransactionReceipt({ hash: first.anchor.txHash as `0x${string}` });
      assert.equal(mined.status, "success");
      assert.equal(Number(mined.blockNumber), first.anchor.blockNumber);
      assert.equal((await chain.publicClient.readContract({ address: contract, abi: auditAnchorAbi, functionName: "rootAt", args: [10n] })).toLowerCase(), first.root.toLowerCase());
      assert.equal((await chain.publicClient.readContract({ address: contract, abi: auditAnchorAbi, functionName: "rootAt", args: [20n] })).toLowerCase(), second.root.toLowerCase());
    } finally {
      await anchorer.stop();
    }
  });

  it("a key that is not the contract's auditor is named at start, in words, instead of only failing at each anchor", async () => {
    const said: Array<{ msg: string; auditor?: string; key?: string }> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void said.push(JSON.parse(line)) });
    const anchorer = await startAuditAnchorer({ log, logger, publicClient, walletClient: chain.wallets.governance, contract, chainId: await chain.publicClient.getChainId(), everyMs: 3_600_000 });
    try {
      const warned = said.find((l) => /not the AuditAnchor's auditor/.test(l.msg));
      assert.ok(warned, said.map((l) => l.msg).join("; "));
      assert.equal(warned.key?.toLowerCase(), chain.wallets.governance.account.address.toLowerCase());
      assert.equal(warned.auditor?.toLowerCase(), chain.wallets.auditor.account.address.toLowerCase());
      assert.match(warned.msg, /SEN_AUDIT_ANCHOR_KEY/);
    } finally {
      await anchorer.stop();
    }
  });
});
