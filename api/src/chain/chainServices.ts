import { getAddress, type Address, type Hash, type PublicClient, type WalletClient } from "viem";
import type { ApiKeyStore } from "../auth/types.ts";
import type { BulletTokenStore } from "../auth/bulletTokens.ts";
import type { SessionStore } from "../auth/sessionStore.ts";
import type { AuditTrail } from "../compliance/audit/auditTrail.ts";
import type { ServerConfig } from "../config/config.ts";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { TradingQueries } from "../trading/queries.ts";
import type { TradingService } from "../trading/tradingService.ts";
import type { Withdrawal } from "../records/orders.ts";
import { IDENTITY_SWEEP } from "../records/tradingRecords.ts";
import { identityRegistryAbi } from "./identityOracle.ts";
import { contractErrorsAbi, describeChainError, revertOf, rootCause } from "./contractErrors.ts";
import { SettlementBatcher, settlementVaultAbi } from "./settlementBatcher.ts";
import { creditVaultDeposit, debitVaultCustody, HouseWallets, readVaultEvents, type VaultCustodyDebit, type VaultDeposit } from "./vaultDeposits.ts";
import { startAuditAnchorer, type AuditAnchorView } from "./auditAnchorer.ts";
import { followTaxPolicy } from "./taxPolicy.ts";

/** The actor of what the chain watcher records on its own (a deposit waiting for its token's listing). */
const VAULT_WATCHER = "vault-watcher";

/** How long an unknown withdrawal outcome waits before the payout is sent again (same id). */
const WITHDRAWAL_RETRY_MS = 1_000;
/** An account whose identity check failed is tried again after a poll interval, doubling up to this. */
const IDENTITY_RETRY_MAX_MS = 60_000;
/** Per sweep, the failed accounts logged one by one; the rest are counted. */
const LOGGED_SWEEP_FAILURES = 5;

/**
 * The parts of the gateway the chain services use, named here so that chain/ depends on
 * the modules it drives and not on the wiring (context.ts); an AppContext satisfies it.
 */
export type ChainServicesContext = {
  config: Pick<ServerConfig, "chainId" | "audit">;
  logger: Logger;
  metrics: Pick<Metrics, "settledTrades" | "settlementFailed" | "settlementFailedOpen" | "settlementLagMs" | "settlementPending">;
  catalog: MarketCatalog;
  trading: TradingService;
  queries: TradingQueries;
  keys: ApiKeyStore;
  sessions: SessionStore;
  bullets: BulletTokenStore;
  audit: AuditTrail;
  /** Set here when the audit anchor is configured, so the audit routes can compare roots. */
  auditAnchor?: AuditAnchorView;
  /** Set here: /health reports "degraded" when the chain stops answering the poll. */
  chainHealth?: () => "ok" | "degraded";
};

export type ChainServicesOptions = {
  ctx: ChainServicesContext;
  publicClient: PublicClient;
  /** Holds the vault's SETTLER_ROLE and WITHDRAWER_ROLE. */
  walletClient: WalletClient;
  /**
   * Holds the AuditAnchor's auditor role when that is not walletClient's key: the key vouching
   * for the log should not be one whose actions the log records. walletClient when absent.
   */
  anchorWalletClient?: WalletClient;
  contracts: { IdentityRegistry: Address; SettlementVault: Address; AuditAnchor?: Address };
  startBlock: bigint;
  /** Deposits are credited once this many blocks deep (0 on the in-process chain). */
  confirmations: number;
  pollMs: number;
  settlement?: { maxBatch?: number; maxDelayMs?: number };
};

/**
 * The gateway's link to the chain: credits confirmed vault deposits, debits custody the token's
 * agent took out of the vault (recovery, seizure), settles trades in DvP
 * batches, executes withdrawals, and reacts to e-ID revocations within a block. All of it
 * goes through the TradingService, so every effect is journaled like a trader's command.
 */
export async function startChainServices(o: ChainServicesOptions) {
  const { ctx } = o;
  const log = ctx.logger;
  const walletClient = oneSendAtATime(o.walletClient);
  // Checkpoint roots go on chain with the auditor's key; the operator key's when it is the auditor
  // (the local dev chain). A key of its own has a nonce sequence of its own.
  const anchorWallet = o.anchorWalletClient ? oneSendAtATime(o.anchorWalletClient) : walletClient;
  const anchorer = o.contracts.AuditAnchor
    ? await startAuditAnchorer({ log: ctx.audit.log, logger: log, publicClient: o.publicClient, walletClient: anchorWallet, contract: o.contracts.AuditAnchor, chainId: ctx.config.chainId, everyMs: ctx.config.audit.anchorEveryMs })
    : undefined;
  if (anchorer) ctx.auditAnchor = anchorer;
  const countFailed = () => [...ctx.queries.failedSettlements()].length;
  ctx.metrics.settlementFailedOpen.set(countFailed());
  const batcher = new SettlementBatcher({
    trading: ctx.trading,
    queries: ctx.queries,
    catalog: ctx.catalog,
    vault: o.contracts.SettlementVault,
    publicClient: o.publicClient,
    walletClient,
    fromBlock: o.startBlock,
    ...o.settlement,
    onError: (err) => log.warn({ err }, "settlement batch failed; will retry with the same trade ids"),
    onTradeFailed: (trade, revert) => {
      ctx.metrics.settlementFailed.inc({ error: rootCause(revert).name });
      ctx.metrics.settlementFailedOpen.set(countFailed());
      log.error({ tradeId: trade.tradeId, symbol: trade.symbol, reason: revert.reason }, "settlement refused a trade: it waits for an operator (retry or reverse); the others go on");
    },
    onBlocked: (revert) => log.error({ reason: revert.reason }, "settlement blocked: the vault refuses every batch; waiting"),
    onSettled: (count, txHash, lagMs) => {
      ctx.metrics.settledTrades.inc(count);
      ctx.metrics.settlementLagMs.set(lagMs);
      log.info({ count, txHash }, "trades settled on chain");
    },
  });
  batcher.start();

  // The vault checks each trade's tax at its rate when the batch settles: follow the rate so that
  // trades matched after a governance change are taxed at the new one (journaled, audited).
  const taxSource = `SettlementVault ${o.contracts.SettlementVault} TaxPolicySet`;
  const taxPolicy = await followTaxPolicy({
    publicClient: o.publicClient,
    vault: o.contracts.SettlementVault,
    pollMs: o.pollMs,
    onChange: async (p) => {
      await ctx.trading.setTaxRate(p.rateBps, taxSource, "chain");
      log.warn({ rateBps: p.rateBps }, "tax rate changed on chain: trades from now on are taxed at it");
    },
    onError: (err) => log.warn({ err }, "tax policy poll failed; the last rate read stays in force"),
  });
  await ctx.trading.setTaxRate(taxPolicy.current().rateBps, `SettlementVault ${o.contracts.SettlementVault}`, "chain");

  let cursor = o.startBlock;
  let lastBlock = -1n;
  let stopped = false;
  let busy = false;
  const withdrawing = new Set<string>();
  /** Payouts this process has broadcast (one may still be pending when a later try is refused). */
  const sent = new Map<string, Hash>();

  /** An earlier send that is still in the node's pool (not mined, not dropped) may still pay. */
  async function mayStillBeMined(hash: Hash | undefined): Promise<boolean> {
    if (!hash) return false;
    try {
      await o.publicClient.getTransactionReceipt({ hash });
      return false; // mined: paid (then isWithdrawn said so) or reverted
    } catch {
      return o.publicClient.getTransaction({ hash }).then(
        () => true,
        () => false, // dropped
      );
    }
  }
  const retries = new Set<NodeJS.Timeout>();

  /**
   * Pays a withdrawal out of the vault. The hold is released only when the vault refused the
   * payout (a revert); when the outcome is unknown (send refused, receipt not seen) the payout
   * may still be mined, so the hold stays and the same id is sent again: the vault pays an id
   * at most once.
   */
  async function executeWithdrawal(w: Readonly<Withdrawal>): Promise<void> {
    if (stopped || withdrawing.has(w.withdrawalId)) return;
    withdrawing.add(w.withdrawalId);
    let outcome: PayoutOutcome | undefined;
    try {
      outcome = await payOut(w);
    } catch (err) {
      // A refusal before sending releases the hold only if no earlier send of this id may still be mined.
      if (revertOf(err) && !(await mayStillBeMined(sent.get(w.withdrawalId)))) outcome = { refused: describeChainError(err).slice(0, 300) };
      log.warn({ err, withdrawalId: w.withdrawalId }, outcome ? "withdrawal refused by the vault" : "withdrawal outcome unknown; will send it again");
    } finally {
      withdrawing.delete(w.withdrawalId);
    }
    try {
      if (outcome && "paidBy" in outcome) await ctx.trading.withdrawalDone(w.withdrawalId, outcome.paidBy);
      else if (outcome) await ctx.trading.withdrawalFailed(w.withdrawalId, outcome.refused);
    } catch (err) {
      log.error({ err, withdrawalId: w.withdrawalId }, "could not record the withdrawal's outcome");
    }
    if (outcome || stopped || ctx.trading.failed) return;
    const timer = setTimeout(() => {
      retries.delete(timer);
      const current = ctx.queries.withdrawal(w.withdrawalId);
      if (current?.status === "PROCESSING") void executeWithdrawal(current);
    }, WITHDRAWAL_RETRY_MS);
    retries.add(timer);
  }

  async function payOut(w: Readonly<Withdrawal>): Promise<PayoutOutcome> {
    const token = ctx.catalog.currency(w.currency)?.token;
    if (!token) return { refused: `no token for ${w.currency}` };
    const id = BigInt(w.withdrawalId);
    // Sent before (then the process died, or the receipt never came) and paid: record that payout.
    const vault = o.contracts.SettlementVault;
    const paid = await o.publicClient.readContract({ address: vault, abi: settlementVaultAbi, functionName: "isWithdrawn", args: [id] });
    const earlier = paid ? await payoutTx(id) : undefined;
    if (earlier) return { paidBy: earlier };
    // The vault pays from its books: settle this account's trades in this currency first.
    await batcher.flushFor(w.accountId, w.currency);
    const hash = await walletClient.writeContract({
      address: vault,
      abi: [...settlementVaultAbi, ...contractErrorsAbi],
      functionName: "withdraw",
      args: [id, getAddress(w.accountId), token, w.amount],
      account: walletClient.account!,
      chain: walletClient.chain ?? null,
    });
    sent.set(w.withdrawalId, hash);
    const receipt = await o.publicClient.waitForTransactionReceipt({ hash });
    // A mined revert paid nothing: an earlier send of this id has a lower nonce, so had it
    // paid, this one would have been a no-op instead.
    if (receipt.status !== "success") return { refused: `transaction ${hash} reverted` };
    // A no-op (an earlier send was mined first) names the transaction that did pay.
    return { paidBy: (await payoutTx(id)) ?? hash };
  }

  /** The transaction whose Withdrawn event paid withdrawal `id`, if there is one. */
  async function payoutTx(id: bigint): Promise<Hash | undefined> {
    const [first] = await o.publicClient.getContractEvents({ address: o.contracts.SettlementVault, abi: settlementVaultAbi, eventName: "Withdrawn", args: { withdrawalId: id }, fromBlock: o.startBlock });
    return first?.transactionHash;
  }

  const unsubscribe = ctx.trading.subscribe((e) => {
    if (e.kind === "withdrawal" && e.withdrawal.status === "PROCESSING") void executeWithdrawal(e.withdrawal);
    else if (e.kind === "settlementResolved") ctx.metrics.settlementFailedOpen.set(countFailed());
    else if (e.kind === "trade" || e.kind === "settled") ctx.metrics.settlementPending.set(ctx.queries.unsettledCount());
    else if (e.kind === "custodyDebited" && e.owed > 0n) {
      log.error(
        { ref: e.debit.ref, account: e.debit.accountId, currency: e.debit.currency, amount: e.debit.amount, owed: e.owed.toString(), cancelled: e.cancelled },
        "custody left the vault beyond what the ledger still had for the account: the rest is owed, its unsettled trades will fail at the vault and wait for an operator",
      );
    }
  });
  // Withdrawals that were pending when the process stopped are driven again (idempotent by id).
  for (const w of ctx.queries.withdrawals()) if (w.status === "PROCESSING") void executeWithdrawal(w);

  /**
   * Accounts whose revocation is in the audit trail (this process): a sweep that must try an
   * account again (a step failed, or an operator unfroze it) records the revocation once, not on
   * every block. A wallet seen verified again leaves the set, so a later revocation is recorded.
   */
  const revocationRecorded = new Set<string>();
  /** Accounts whose last check failed, and when they are tried again. */
  const sweepFailures = new Map<string, { count: number; retryAt: number }>();

  /**
   * Accounts whose wallet no longer verifies are frozen and lose their keys and sessions. Each
   * account on its own: one that fails (its read refused, a store write refused) is logged and
   * tried again later, backing off, while the others are swept; a retry of the same failure on
   * every block would also hold up everything behind it.
   */
  async function sweepIdentities(): Promise<void> {
    const accounts = new Set<string>();
    for (const a of ctx.queries.ledgerAccounts()) if (/^0x[0-9a-f]{40}$/.test(a)) accounts.add(a);
    try {
      for (const a of await ctx.keys.accounts()) accounts.add(a);
    } catch (err) {
      log.warn({ err }, "identity sweep: the API key store did not list its accounts; the ledger's are swept");
    }
    let failed = 0;
    for (const account of accounts) {
      const before = sweepFailures.get(account);
      if (before && Date.now() < before.retryAt) continue;
      try {
        await sweepAccount(account);
        sweepFailures.delete(account);
      } catch (err) {
        const count = (before?.count ?? 0) + 1;
        const retryInMs = Math.min(IDENTITY_RETRY_MAX_MS, Math.max(o.pollMs, 100) * 2 ** Math.min(count - 1, 20));
        sweepFailures.set(account, { count, retryAt: Date.now() + retryInMs });
        // A failure shared by many accounts (the provider refusing reads) is not written once per account.
        if (++failed <= LOGGED_SWEEP_FAILURES) log.warn({ err, account, failures: count, retryInMs }, "identity sweep: this account's check failed; the others go on, it is tried again later");
      }
    }
    if (failed > LOGGED_SWEEP_FAILURES) log.warn({ failed }, "identity sweep: more accounts' checks failed; each is tried again later");
  }

  async function sweepAccount(account: string): Promise<void> {
    if (ctx.queries.isFrozen(account) !== undefined && (await ctx.keys.isAccountDisabled(account)) !== undefined) return;
    const verified = await o.publicClient.readContract({ address: o.contracts.IdentityRegistry, abi: identityRegistryAbi, functionName: "isVerified", args: [getAddress(account)] });
    if (verified) {
      revocationRecorded.delete(account);
      return;
    }
    const reason = "e-ID revoked, expired or no longer attested";
    if (!revocationRecorded.has(account)) {
      ctx.audit.record({ type: "identity.revoked", account, wallet: account, reason, actor: IDENTITY_SWEEP, detail: { block: lastBlock.toString() } });
      revocationRecorded.add(account);
    }
    if (ctx.queries.isFrozen(account) === undefined) await ctx.trading.setAccountFrozen(account, true, reason, IDENTITY_SWEEP);
    await ctx.sessions.revokeSessions(account);
    await ctx.bullets.revokeAccount(account);
    // Last: later sweeps skip a frozen account whose keys are disabled, so every step above must
    // have been done by then (a failure before this one leaves the account to be tried again).
    await ctx.keys.disableAccount(account, reason);
    log.warn({ account, reason }, "identity no longer verified: account frozen, keys and sessions revoked");
  }

  /**
   * Deposits of a token the vault lists and Sen does not yet, by reference. The cursor moves past
   * their blocks, so they are held here until a listing gives their token a currency (the listing
   * flow requires the vault listing first, so such deposits are expected, not an error). Not
   * persisted: the cursor starts at startBlock on every start, so a restart finds them again.
   */
  const waiting = new Map<string, VaultDeposit>();

  function awaitListing(d: VaultDeposit): void {
    if (waiting.has(d.ref)) return;
    waiting.set(d.ref, d);
    // Once per deposit (per start): the money is in custody and not on the trader's balance.
    log.warn(
      { ref: d.ref, depositId: d.depositId.toString(), wallet: d.wallet, token: d.token, amount: d.amount.toString(), block: d.blockNumber.toString(), txHash: d.txHash },
      "vault deposit of a token Sen has not listed: not credited; it is credited when the token is listed",
    );
    // Compliance sees money in custody that no balance shows yet; its `deposit` event, with the
    // same ref, follows once the token is listed. Recorded again after a restart that finds it
    // still waiting (the list is not persisted; the ref ties the records together).
    ctx.audit.record({
      type: "deposit.waiting",
      account: d.wallet,
      wallet: d.wallet,
      txHash: d.txHash ?? undefined,
      actor: VAULT_WATCHER,
      reason: "token not listed",
      detail: { ref: d.ref, depositId: d.depositId.toString(), token: d.token, amount: d.amount.toString(), block: d.blockNumber.toString() },
    });
  }

  async function creditListedWaiting(): Promise<void> {
    for (const d of waiting.values()) {
      const outcome = await creditVaultDeposit(ctx.catalog, ctx.trading, d);
      if (outcome === "unlisted") continue;
      waiting.delete(d.ref);
      if (outcome === "credited") log.info({ ref: d.ref, wallet: d.wallet, token: d.token, amount: d.amount.toString(), block: d.blockNumber.toString() }, "vault deposit credited now that its token is listed");
    }
    // After the deposits: custody can only leave once it was deposited.
    for (const d of waitingDebits.values()) {
      if ((await debitCustody(d)) !== "unlisted") waitingDebits.delete(d.ref);
    }
  }

  /**
   * Custody debits (recovery, seizure) of a token Sen has not listed: its deposits wait too (see
   * `waiting`), and the debit must follow them, so it waits with them. Not persisted, like them.
   */
  const waitingDebits = new Map<string, VaultCustodyDebit>();

  async function debitCustody(d: VaultCustodyDebit): Promise<"debited" | "already" | "unlisted"> {
    const outcome = await debitVaultCustody(ctx.catalog, ctx.trading, d);
    const fields = { ref: d.ref, kind: d.kind, wallet: d.wallet, to: d.to, token: d.token, amount: d.amount.toString(), block: d.blockNumber.toString(), txHash: d.txHash };
    if (outcome === "debited") log.warn(fields, "custody taken out of the vault by the token's agent: debited from the account");
    else if (outcome === "unlisted" && !waitingDebits.has(d.ref)) {
      waitingDebits.set(d.ref, d);
      log.warn(fields, "custody of a token Sen has not listed left the vault: debited when the token is listed, after its deposits");
    }
    return outcome;
  }

  /**
   * The vault books the fees and withheld tax of settled trades into the wallets it names the fee
   * and tax accounts, and the ledger's fee and tax accounts mirror those books: a deposit into
   * one, or custody the token's agent takes from one, moves the house account, not an account of
   * that wallet (which nobody trades from, and which would owe for ever). Rebuilt on every start:
   * the cursor starts at the start block, where the vault's constructor named both.
   */
  const houseWallets = new HouseWallets(ctx.queries.houseAccounts);

  async function tick(): Promise<void> {
    if (busy || stopped) return;
    busy = true;
    try {
      const head = await o.publicClient.getBlockNumber({ cacheTime: 0 });
      if (head !== lastBlock) {
        lastBlock = head;
        // Deposits are credited whatever the sweep meets.
        try {
          await sweepIdentities();
        } catch (err) {
          log.warn({ err }, "identity sweep failed");
        }
        const safe = head - BigInt(o.confirmations);
        if (safe >= cursor) {
          const read = await readVaultEvents(o.publicClient, o.contracts.SettlementVault, { fromBlock: cursor, toBlock: safe });
          houseWallets.learn(read.houseWallets);
          const deposits = read.deposits.map((d) => ({ ...d, wallet: houseWallets.ledgerAccount(d.wallet, d.blockNumber, d.logIndex) }));
          const custodyDebits = read.custodyDebits.map((d) => ({ ...d, wallet: houseWallets.ledgerAccount(d.wallet, d.blockNumber, d.logIndex) }));
          // A deposit of a token Sen has not listed waits for the listing (it will not be read again).
          let credited = 0;
          for (const d of deposits) {
            const outcome = await creditVaultDeposit(ctx.catalog, ctx.trading, d);
            if (outcome === "credited") credited++;
            else if (outcome === "unlisted") awaitListing(d);
          }
          if (credited > 0) log.info({ credited, toBlock: safe.toString() }, "vault deposits credited");
          // The range's debits after all its deposits: a deposit and its seizure in one range debit
          // nothing that was not first credited. A failure part-way leaves the cursor, and the
          // range is applied again: each deposit and debit once, by its reference.
          for (const d of custodyDebits) await debitCustody(d);
          cursor = safe + 1n;
        }
      }
      // Every tick, new block or not: a listing adds no block, and this reads nothing from the chain.
      await creditListedWaiting();
      lastPollOk = Date.now();
    } catch (err) {
      log.warn({ err }, "chain poll failed");
    } finally {
      busy = false;
    }
  }
  let lastPollOk = Date.now();
  // Deposits, identity sweeps and settlement all wait on the chain: say so when it stops answering.
  ctx.chainHealth = () => (Date.now() - lastPollOk > Math.max(2_000, 5 * o.pollMs) ? "degraded" : "ok");
  const timer = setInterval(() => void tick(), o.pollMs);

  return {
    batcher,
    anchorer,
    /** Vault deposits read but not credited: their token is not (yet) in Sen's catalog. */
    waitingDeposits: (): VaultDeposit[] => [...waiting.values()],
    /** Custody debits read but not applied, for the same reason. */
    waitingCustodyDebits: (): VaultCustodyDebit[] => [...waitingDebits.values()],
    /** One poll now: credit deposits, debit custody taken out of the vault, check identities (tests and start-up use it). */
    poll: async () => {
      await taxPolicy.poll();
      lastBlock = -1n;
      while (busy) await new Promise((r) => setTimeout(r, 5));
      await tick();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      for (const t of retries) clearTimeout(t);
      unsubscribe();
      taxPolicy.stop();
      await batcher.stop();
      await anchorer?.stop();
    },
  };
}

export type ChainServices = Awaited<ReturnType<typeof startChainServices>>;

type PayoutOutcome = { paidBy: Hash } | { refused: string };


/**
 * The operator key sends settlement batches, payouts (and audit anchors, unless the auditor has a key of its own); sent concurrently they
 * would be given the same nonce and all but one refused. Each send waits for the previous one
 * to be accepted (or refused), so it sees its predecessor in the pending nonce.
 */
function oneSendAtATime(client: WalletClient): WalletClient {
  let last: Promise<unknown> = Promise.resolve();
  const writeContract = ((args: Parameters<WalletClient["writeContract"]>[0]) => {
    const sent = last.then(() => client.writeContract(args));
    last = sent.catch(() => undefined);
    return sent;
  }) as WalletClient["writeContract"];
  return { ...client, writeContract };
}
