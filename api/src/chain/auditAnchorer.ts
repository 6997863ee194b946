import { parseAbi, TransactionReceiptNotFoundError, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import type { AuditLog } from "../compliance/audit/auditLog.ts";
import type { Logger } from "../observability/logger.ts";
import { ChainCode, ChainError } from "./errors.ts";

export const auditAnchorAbi = parseAbi([
  "function anchor(uint64 fromSeq, uint64 toSeq, bytes32 root)",
  "function latest() view returns (uint64 treeSize, bytes32 root, uint32 anchoredAt)",
  "function rootAt(uint64 treeSize) view returns (bytes32)",
  "function auditor() view returns (address)",
  "event RootAnchored(uint64 indexed fromSeq, uint64 indexed toSeq, bytes32 root, uint256 timestamp)",
]);

/** What the audit routes see of the anchor: where it is and whether a checkpoint's root is on chain. */
export type AuditAnchorView = {
  describe(): { chainId: number; contract: string; anchoredTreeSize: number };
  /** Compares the on-chain root for `treeSize` with `root` (the anchor may lag the checkpoint). */
  check(treeSize: number, root: string): Promise<{ ok: boolean; anchoredTreeSize: number; onChainRoot?: string; note?: string }>;
};

export type AuditAnchorerOptions = {
  log: AuditLog;
  logger: Logger;
  publicClient: PublicClient;
  /** The contract's auditor account. */
  walletClient: WalletClient;
  contract: Address;
  chainId: number;
  /** Anchor the newest checkpoint at most this often (0: as soon as each appears). */
  everyMs: number;
};

/**
 * Puts the audit log's signed checkpoint roots on chain (AuditAnchor.anchor). Anchors tile
 * the log: each covers [previous anchored size, checkpoint size), so a failed transaction is
 * simply retried by the next attempt, from where the chain says the anchors end (a transaction
 * whose receipt was lost may have been mined). Gas scales with anchors, not
 * events: one anchor per `everyMs` whatever the trading volume.
 */
export async function startAuditAnchorer(o: AuditAnchorerOptions): Promise<AuditAnchorView & { stop(): Promise<void>; anchorNow(): Promise<void> }> {
  const [size] = await o.publicClient.readContract({ address: o.contract, abi: auditAnchorAbi, functionName: "latest" });
  let anchored = Number(size);
  // Said once at start, in words: every anchor would otherwise just be refused (AnchorNotAuditor).
  // The attempts go on, as governance may hand the role to this key (setAuditor).
  const auditor = await o.publicClient.readContract({ address: o.contract, abi: auditAnchorAbi, functionName: "auditor" });
  const sender = o.walletClient.account?.address;
  if (sender && auditor.toLowerCase() !== sender.toLowerCase()) {
    o.logger.warn({ auditor, key: sender }, "audit anchoring: this gateway's anchoring key is not the AuditAnchor's auditor, so its anchors are refused; set SEN_AUDIT_ANCHOR_KEY to the auditor's key");
  }
  /**
   * Set by a failed attempt: the chain may have moved without our knowing (an anchor mined whose
   * receipt never came), and an anchor from a stale start reverts (AnchorNotContiguous) every
   * time, so the next attempt first asks the chain where the anchors end.
   */
  let reread = false;
  /** The anchor transaction sent whose receipt has not been seen (an attempt that failed after sending). */
  let unconfirmed: { hash: Hex; treeSize: number } | undefined;
  let busy: Promise<void> | null = null;
  let stopped = false;
  let lastAttempt = 0;

  async function resync(): Promise<void> {
    const [onChain] = await o.publicClient.readContract({ address: o.contract, abi: auditAnchorAbi, functionName: "latest" });
    const n = Number(onChain);
    const sent = unconfirmed;
    if (sent && n >= sent.treeSize) {
      // Ours may be the anchor that got there: its receipt is the record the log keeps of it.
      const receipt = await o.publicClient.getTransactionReceipt({ hash: sent.hash }).catch((err: unknown) => {
        if (err instanceof TransactionReceiptNotFoundError) return undefined; // not ours: it was dropped or replaced
        throw err; // asked again by the next attempt
      });
      unconfirmed = undefined;
      if (receipt?.status === "success") {
        o.log.recordAnchor(sent.treeSize, { chainId: o.chainId, contract: o.contract, txHash: sent.hash, blockNumber: Number(receipt.blockNumber) });
        o.logger.info({ toSeq: sent.treeSize, txHash: sent.hash }, "audit checkpoint anchored on chain (its receipt came late)");
      }
    }
    if (n !== anchored) o.logger.warn({ was: anchored, onChain: n }, "audit anchor position re-read from the chain after a failed attempt");
    anchored = n;
    unconfirmed = undefined;
    reread = false;
  }

  async function anchorLatest(): Promise<void> {
    if (reread) await resync();
    const cp = o.log.latestCheckpoint();
    if (!cp || cp.treeSize <= anchored) return;
    if (anchored > o.log.size) {
      o.logger.error({ anchored, logSize: o.log.size }, "the AuditAnchor contract is ahead of this audit log (another log?); not anchoring");
      return;
    }
    const hash = await o.walletClient.writeContract({
      address: o.contract,
      abi: auditAnchorAbi,
      functionName: "anchor",
      args: [BigInt(anchored), BigInt(cp.treeSize), cp.root as Hex],
      account: o.walletClient.account!,
      chain: o.walletClient.chain ?? null,
    });
    unconfirmed = { hash, treeSize: cp.treeSize };
    const receipt = await o.publicClient.waitForTransactionReceipt({ hash });
    unconfirmed = undefined;
    if (receipt.status !== "success") throw new ChainError(ChainCode.TX_REVERTED, `anchor transaction ${hash} reverted`);
    o.log.recordAnchor(cp.treeSize, { chainId: o.chainId, contract: o.contract, txHash: hash, blockNumber: Number(receipt.blockNumber) });
    o.logger.info({ fromSeq: anchored, toSeq: cp.treeSize, txHash: hash }, "audit checkpoint anchored on chain");
    anchored = cp.treeSize;
  }

  const run = (): Promise<void> => {
    if (busy) return busy;
    lastAttempt = Date.now();
    busy = anchorLatest()
      .catch((err: unknown) => {
        reread = true;
        o.logger.warn({ err }, "audit anchoring failed; will retry");
      })
      .finally(() => {
        busy = null;
      });
    return busy;
  };
  const timer = setInterval(() => {
    if (!stopped && Date.now() - lastAttempt >= o.everyMs) void run();
  }, Math.max(200, Math.min(o.everyMs || 1000, 5_000)));
  timer.unref();

  return {
    describe: () => ({ chainId: o.chainId, contract: o.contract, anchoredTreeSize: anchored }),
    async check(treeSize: number, root: string) {
      const [onChainSize] = await o.publicClient.readContract({ address: o.contract, abi: auditAnchorAbi, functionName: "latest" });
      const n = Number(onChainSize);
      if (n === 0) return { ok: true, anchoredTreeSize: 0, note: "nothing anchored yet" };
      if (n > o.log.size) return { ok: false, anchoredTreeSize: n, note: "the contract has anchored more events than this log holds" };
      const onChainRoot = await o.publicClient.readContract({ address: o.contract, abi: auditAnchorAbi, functionName: "rootAt", args: [BigInt(n)] });
      const ours = n === treeSize ? root : o.log.inclusionProof(0, n).root;
      return { ok: onChainRoot.toLowerCase() === ours.toLowerCase(), anchoredTreeSize: n, onChainRoot, note: n < treeSize ? `latest checkpoint (${treeSize}) not anchored yet` : undefined };
    },
    anchorNow: async () => {
      await run();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (busy) await busy;
    },
  };
}
