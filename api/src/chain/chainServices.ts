import { getAddress, type Address, type PublicClient, type WalletClient } from "viem";
import type { AppContext } from "../context.ts";
import type { Withdrawal } from "../trading/orders.ts";
import { identityRegistryAbi } from "./identityOracle.ts";
import { SettlementBatcher, settlementVaultAbi } from "./settlementBatcher.ts";
import { creditVaultDeposits } from "./vaultDeposits.ts";
import { startAuditAnchorer } from "./auditAnchorer.ts";

export type ChainServicesOptions = {
  ctx: AppContext;
  publicClient: PublicClient;
  /** Holds the vault's SETTLER_ROLE and WITHDRAWER_ROLE. */
  walletClient: WalletClient;
  contracts: { IdentityRegistry: Address; SettlementVault: Address; AuditAnchor?: Address };
  startBlock: bigint;
  /** Deposits are credited once this many blocks deep (0 on the in-process chain). */
  confirmations: number;
  pollMs: number;
  settlement?: { maxBatch?: number; maxDelayMs?: number };
};

/**
 * The gateway's link to the chain: credits confirmed vault deposits, settles trades in DvP
 * batches, executes withdrawals, and reacts to e-ID revocations within a block. All of it
 * goes through the TradingService, so every effect is journaled like a trader's command.
 */
export async function startChainServices(o: ChainServicesOptions) {
  const { ctx } = o;
  const log = ctx.logger;
  // Checkpoint roots go on chain with the same operator key (the contract's auditor by default).
  const anchorer = o.contracts.AuditAnchor
    ? await startAuditAnchorer({ log: ctx.audit.log, logger: log, publicClient: o.publicClient, walletClient: o.walletClient, contract: o.contracts.AuditAnchor, chainId: ctx.config.chainId, everyMs: ctx.config.audit.anchorEveryMs })
    : undefined;
  if (anchorer) ctx.auditAnchor = anchorer;
  const batcher = new SettlementBatcher({
    trading: ctx.trading,
    catalog: ctx.catalog,
    vault: o.contracts.SettlementVault,
    publicClient: o.publicClient,
    walletClient: o.walletClient,
    fromBlock: o.startBlock,
    ...o.settlement,
    onError: (err) => log.warn({ err }, "settlement batch failed; will retry with the same trade ids"),
    onSettled: (count, txHash, lagMs) => {
      ctx.metrics.settledTrades.inc(count);
      ctx.metrics.settlementLagMs.set(lagMs);
      log.info({ count, txHash }, "trades settled on chain");
    },
  });
  batcher.start();

  let cursor = o.startBlock;
  let lastBlock = -1n;
  let stopped = false;
  let busy = false;
  const withdrawing = new Set<string>();

  async function executeWithdrawal(w: Readonly<Withdrawal>): Promise<void> {
    if (withdrawing.has(w.withdrawalId)) return;
    withdrawing.add(w.withdrawalId);
    try {
      // The vault pays from its books: settle every trade first so they hold what was bought.
      await batcher.flushAll();
      const token = ctx.catalog.currency(w.currency)?.token;
      if (!token) throw new Error(`no token for ${w.currency}`);
      const hash = await o.walletClient.writeContract({
        address: o.contracts.SettlementVault,
        abi: settlementVaultAbi,
        functionName: "withdraw",
        args: [BigInt(w.withdrawalId), getAddress(w.accountId), token, w.amount],
        account: o.walletClient.account!,
        chain: o.walletClient.chain ?? null,
      });
      const receipt = await o.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status === "success") await ctx.trading.withdrawalDone(w.withdrawalId, hash);
      else await ctx.trading.withdrawalFailed(w.withdrawalId, `transaction ${hash} reverted`);
    } catch (err) {
      log.warn({ err, withdrawalId: w.withdrawalId }, "withdrawal failed");
      await ctx.trading.withdrawalFailed(w.withdrawalId, (err as Error).message.slice(0, 200)).catch(() => undefined);
    } finally {
      withdrawing.delete(w.withdrawalId);
    }
  }

  const unsubscribe = ctx.trading.subscribe((e) => {
    if (e.kind === "withdrawal" && e.withdrawal.status === "PROCESSING") void executeWithdrawal(e.withdrawal);
    else if (e.kind === "trade" || e.kind === "settled") ctx.metrics.settlementPending.set(ctx.trading.core.unsettledCount());
  });
  // Withdrawals that were pending when the process stopped are driven again (idempotent by id).
  for (const w of ctx.trading.core.withdrawals()) if (w.status === "PROCESSING") void executeWithdrawal(w);

  /** Accounts whose wallet no longer verifies are frozen and lose their keys and sessions. */
  async function sweepIdentities(): Promise<void> {
    const accounts = new Set<string>();
    for (const a of ctx.trading.core.ledger.accounts()) if (/^0x[0-9a-f]{40}$/.test(a)) accounts.add(a);
    for (const a of ctx.keys.accounts()) accounts.add(a);
    for (const account of accounts) {
      if (ctx.trading.core.isFrozen(account) !== undefined && ctx.keys.isAccountDisabled(account) !== undefined) continue;
      const verified = await o.publicClient.readContract({ address: o.contracts.IdentityRegistry, abi: identityRegistryAbi, functionName: "isVerified", args: [getAddress(account)] });
      if (verified) continue;
      const reason = "e-ID revoked, expired or no longer attested";
      ctx.audit.record({ type: "identity.revoked", account, wallet: account, reason, actor: "identity-sweep", detail: { block: lastBlock.toString() } });
      if (ctx.trading.core.isFrozen(account) === undefined) await ctx.trading.setAccountFrozen(account, true, reason, "identity-sweep");
      ctx.keys.disableAccount(account, reason);
      ctx.sessions.revokeSessions(account);
      ctx.bullets.revokeAccount(account);
      log.warn({ account, reason }, "identity no longer verified: account frozen, keys and sessions revoked");
    }
  }

  async function tick(): Promise<void> {
    if (busy || stopped) return;
    busy = true;
    try {
      const head = await o.publicClient.getBlockNumber({ cacheTime: 0 });
      if (head !== lastBlock) {
        lastBlock = head;
        await sweepIdentities();
        const safe = head - BigInt(o.confirmations);
        if (safe >= cursor) {
          const n = await creditVaultDeposits(o.publicClient, o.contracts.SettlementVault, ctx.catalog, ctx.trading, { fromBlock: cursor, toBlock: safe });
          if (n > 0) log.info({ credited: n, toBlock: safe.toString() }, "vault deposits credited");
          cursor = safe + 1n;
        }
      }
    } catch (err) {
      log.warn({ err }, "chain poll failed");
    } finally {
      busy = false;
    }
  }
  const timer = setInterval(() => void tick(), o.pollMs);

  return {
    batcher,
    anchorer,
    /** One poll now: credit deposits, check identities (tests and start-up use it). */
    poll: async () => {
      lastBlock = -1n;
      while (busy) await new Promise((r) => setTimeout(r, 5));
      await tick();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await batcher.stop();
      await anchorer?.stop();
    },
  };
}

export type ChainServices = Awaited<ReturnType<typeof startChainServices>>;
