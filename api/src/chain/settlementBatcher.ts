import { getAddress, isAddressEqual, parseAbi, parseEventLogs, type Address, type Hash, type Log, type PublicClient, type WalletClient } from "viem";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import { contractErrorsAbi, revertOf, rootCause, type DecodedRevert } from "./contractErrors.ts";
import type { SettlementTrade } from "../records/orders.ts";
import type { TradingQueries } from "../trading/queries.ts";
import type { TradingService } from "../trading/tradingService.ts";
import { ChainCode, ChainError } from "./errors.ts";

export const settlementVaultAbi = parseAbi([
  "struct Trade { uint256 tradeId; address asset; address seller; address buyer; uint256 assetAmount; uint256 cashAmount; uint256 sellerFee; uint256 buyerFee; uint256 sellerTax; }",
  "function settleBatch(Trade[] trades)",
  "function isSettled(uint256 tradeId) view returns (bool)",
  "function withdraw(uint256 withdrawalId, address wallet, address token, uint256 amount)",
  "function isWithdrawn(uint256 withdrawalId) view returns (bool)",
  "function balanceOf(address token, address wallet) view returns (uint256)",
  "event TradeSettled(uint256 indexed tradeId, address indexed seller, address indexed buyer, address asset, uint256 assetAmount, uint256 cashAmount, uint256 sellerFee, uint256 buyerFee, uint256 sellerTax)",
  "event TradeAlreadySettled(uint256 indexed tradeId)",
  "event Withdrawn(uint256 indexed withdrawalId, address indexed wallet, address indexed token, uint256 amount)",
]);

export type SettlementBatcherOptions = {
  trading: TradingService;
  queries: Pick<TradingQueries, "unsettledCount">;
  catalog: MarketCatalog;
  vault: Address;
  publicClient: Pick<PublicClient, "waitForTransactionReceipt" | "readContract" | "getContractEvents" | "simulateContract">;
  walletClient: WalletClient;
  /** Trades per settleBatch transaction (default 100). */
  maxBatch?: number;
  /** How long a trade may wait for companions before its batch is sent (default 200 ms). */
  maxDelayMs?: number;
  /** A batch whose receipt does not come within this time is sent again (default 30 s). */
  receiptTimeoutMs?: number;
  /** Where to look for a trade's earlier TradeSettled event (the deployment block; default 0). */
  fromBlock?: bigint;
  onError?: (err: unknown) => void;
  onSettled?: (count: number, txHash: Hash, lagMs: number) => void;
  /** A trade the vault refuses was taken out of the queue (journaled as failed). */
  onTradeFailed?: (trade: Readonly<SettlementTrade>, revert: DecodedRevert) => void;
  /** Nothing can settle (vault paused, settler without its role): the batch waits, unchanged in content. */
  onBlocked?: (revert: DecodedRevert) => void;
};

/** Reverts that refuse every batch, not one trade: waiting is right, failing trades is not. */
const BATCH_LEVEL_ERRORS = new Set(["EnforcedPause", "AccessControlUnauthorizedAccount", "ReentrancyGuardReentrantCall"]);
/**
 * Root causes that refuse every trade of a market for a while (a paused token, a token that
 * no longer lists the vault): its trades wait, the other markets go on; none is failed.
 */
const MARKET_LEVEL_ERRORS = new Set(["TokenIsPaused", "TokenNotCustodian", "SettlementTokenNotListed", "EnforcedPause"]);
/** How long a market's trades wait after a market-level refusal before they are tried again. */
const MARKET_WAIT_MS = 2_000;

/**
 * Turns the journal's unsettled trades into SettlementVault.settleBatch transactions: batches
 * by size or time, one transaction in flight at a time, and a trade is marked settled only
 * once its batch is mined (a journaled "settled" record). A failed or timed-out batch is sent
 * again with the same trade ids: the vault skips ids it has settled, so a trade settles once
 * and only once, also when the process died between broadcast and receipt (the unsettled
 * trades come back from the journal on restart).
 *
 * Every batch is simulated first. One the vault would refuse is never sent as it is: the
 * first trade that makes it revert is found (named by the error, else by bisecting the
 * batch's prefixes, since a trade may depend on an earlier one in the same batch), journaled
 * as failed with the decoded reason, and the others go on. Reverts that refuse any batch
 * (a paused vault, a settler without its role) fail no trade: the batcher waits.
 */
export class SettlementBatcher {
  readonly #o: Required<Omit<SettlementBatcherOptions, "onError" | "onSettled" | "onTradeFailed" | "onBlocked">> & Pick<SettlementBatcherOptions, "onError" | "onSettled" | "onTradeFailed" | "onBlocked">;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #unsubscribe: () => void = () => undefined;

  constructor(options: SettlementBatcherOptions) {
    this.#o = { maxBatch: 100, maxDelayMs: 200, receiptTimeoutMs: 30_000, fromBlock: 0n, ...options };
  }

  start(): void {
    this.#unsubscribe = this.#o.trading.subscribe((e) => {
      // A retried failed trade is back in the queue: it must not wait for the next trade.
      if (e.kind === "trade" || (e.kind === "settlementResolved" && e.action === "retry")) this.#schedule();
    });
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** Trades waiting for settlement right now. */
  pendingCount(): number {
    return this.#o.queries.unsettledCount();
  }

  /** Settles everything durable and pending now (used before a withdrawal, and by tests). */
  async flushAll(): Promise<void> {
    while (!this.#stopped && this.#hasSettleable()) {
      await this.#runOnce();
      if (this.#waitingMarkets.size > 0 && !this.#hasSendable()) await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Settles until no durable trade of `accountId` in `currency` waits (before a withdrawal:
   * the vault pays from its books, so they must hold what the ledger credited). Other
   * accounts' trades go in the same batches but are not waited for.
   */
  async flushFor(accountId: string, currency: string): Promise<void> {
    const concerns = (t: Readonly<SettlementTrade>) => {
      if (t.buyerAccount !== accountId && t.sellerAccount !== accountId) return false;
      const m = this.#o.catalog.market(t.symbol);
      return m?.base === currency || m?.quote === currency;
    };
    const waiting = () => {
      for (const t of this.#o.trading.settleableTrades()) if (concerns(t)) return true;
      return false;
    };
    while (!this.#stopped && waiting()) {
      await this.#runOnce();
      // Only trades of a waiting market left: pace the loop instead of spinning on it.
      if (this.#waitingMarkets.size > 0 && !this.#hasSendable()) await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Markets whose trades wait after a market-level refusal, until the time given. */
  readonly #waitingMarkets = new Map<string, number>();

  #sendable(t: Readonly<SettlementTrade>, now: number): boolean {
    const until = this.#waitingMarkets.get(t.symbol);
    if (until === undefined) return true;
    if (until > now) return false;
    this.#waitingMarkets.delete(t.symbol);
    return true;
  }

  #hasSendable(): boolean {
    const now = Date.now();
    for (const t of this.#o.trading.settleableTrades()) if (this.#sendable(t, now)) return true;
    return false;
  }

  #hasSettleable(): boolean {
    return !this.#o.trading.settleableTrades().next().done;
  }

  #schedule(): void {
    if (this.#timer || this.#stopped) return;
    const delay = this.pendingCount() >= this.#o.maxBatch ? 0 : this.#o.maxDelayMs;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#runOnce().then(() => {
        if (this.#hasSettleable()) this.#schedule();
      });
    }, delay);
  }

  #runOnce(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = this.#settleNext().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #settleNext(): Promise<void> {
    const batch: Readonly<SettlementTrade>[] = [];
    const now = Date.now();
    for (const t of this.#o.trading.settleableTrades()) {
      if (!this.#sendable(t, now)) continue;
      batch.push(t);
      if (batch.length === this.#o.maxBatch) break;
    }
    if (batch.length === 0) return;
    try {
      const refused = await this.#simulate(batch);
      if (refused) return await this.#isolate(batch, refused);
      const hash = await this.#o.walletClient.writeContract({
        address: this.#o.vault,
        abi: settlementVaultAbi,
        functionName: "settleBatch",
        args: [batch.map((t) => this.#toVaultTrade(t))],
        account: this.#o.walletClient.account!,
        chain: this.#o.walletClient.chain ?? null,
      });
      const receipt = await this.#o.publicClient.waitForTransactionReceipt({ hash, timeout: this.#o.receiptTimeoutMs });
      if (receipt.status !== "success") throw new ChainError(ChainCode.TX_REVERTED, `settleBatch ${hash} reverted`);
      for (const [txHash, tradeIds] of await this.#settledBy(batch, hash, receipt.logs)) await this.#o.trading.confirmSettled(tradeIds, txHash);
      this.#o.onSettled?.(batch.length, hash, Date.now() - Math.min(...batch.map((t) => t.createdAt)));
    } catch (err) {
      this.#o.onError?.(err);
      // Back off; the same trades (same ids) go again on the next attempt.
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The vault's verdict on settling `trades` now: null if it would settle them, else the decoded revert. */
  async #simulate(trades: readonly Readonly<SettlementTrade>[]): Promise<DecodedRevert | null> {
    try {
      await this.#o.publicClient.simulateContract({
        address: this.#o.vault,
        abi: [...settlementVaultAbi, ...contractErrorsAbi],
        functionName: "settleBatch",
        args: [trades.map((t) => this.#toVaultTrade(t))],
        account: this.#o.walletClient.account!,
      });
      return null;
    } catch (err) {
      const revert = revertOf(err);
      if (revert === null) throw err; // no verdict (RPC down, timeout): try again later
      return revert;
    }
  }

  /** Takes the first trade the vault refuses out of the queue, journaled with the reason. */
  async #isolate(batch: readonly Readonly<SettlementTrade>[], refused: DecodedRevert): Promise<void> {
    let index = -1;
    let revert = refused;
    const named = refused.args.tradeId;
    if (typeof named === "bigint") index = batch.findIndex((t) => BigInt(`0x${t.tradeId}`) === named);
    if (index < 0 && !BATCH_LEVEL_ERRORS.has(refused.name)) {
      // The shortest prefix that reverts ends with the culprit (prefixes that revert only grow).
      let lo = 1;
      let hi = batch.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const r = await this.#simulate(batch.slice(0, mid));
        if (r) {
          hi = mid;
          revert = r;
        } else lo = mid + 1;
      }
      index = hi - 1;
    }
    if (BATCH_LEVEL_ERRORS.has(revert.name)) {
      this.#o.onBlocked?.(revert);
      await new Promise((r) => setTimeout(r, 1_000));
      return;
    }
    const trade = batch[index];
    if (MARKET_LEVEL_ERRORS.has(rootCause(revert).name)) {
      this.#waitingMarkets.set(trade.symbol, Date.now() + MARKET_WAIT_MS);
      this.#o.onBlocked?.(revert);
      return;
    }
    await this.#o.trading.settlementFailed(trade.tradeId, revert.reason);
    this.#o.onTradeFailed?.(trade, revert);
  }

  /**
   * The transaction that moved each trade: this one, or for a trade the vault skipped as
   * already settled (an earlier send was mined after a crash or a receipt timeout) the earlier
   * one, so a fill never names a transaction that moved nothing.
   */
  async #settledBy(batch: readonly Readonly<SettlementTrade>[], hash: Hash, logs: Log[]): Promise<Map<Hash, string[]>> {
    const skipped = new Set(
      parseEventLogs({ abi: settlementVaultAbi, logs, eventName: "TradeAlreadySettled" })
        .filter((l) => isAddressEqual(l.address, this.#o.vault))
        .map((l) => l.args.tradeId),
    );
    const byTx = new Map<Hash, string[]>();
    for (const t of batch) {
      const tradeId = BigInt(`0x${t.tradeId}`);
      let tx = hash;
      if (skipped.has(tradeId)) {
        const [first] = await this.#o.publicClient.getContractEvents({ address: this.#o.vault, abi: settlementVaultAbi, eventName: "TradeSettled", args: { tradeId }, fromBlock: this.#o.fromBlock });
        // Without the event (e.g. a wrong deployment block) this transaction still names the trade.
        if (first) tx = first.transactionHash;
      }
      byTx.set(tx, [...(byTx.get(tx) ?? []), t.tradeId]);
    }
    return byTx;
  }

  #toVaultTrade(t: Readonly<SettlementTrade>) {
    const market = this.#o.catalog.market(t.symbol)!;
    const asset = this.#o.catalog.currency(market.base)!.token;
    if (!asset) throw new ChainError(ChainCode.NO_TOKEN, `no token address for ${market.base}`);
    return {
      tradeId: BigInt(`0x${t.tradeId}`),
      asset,
      seller: getAddress(t.sellerAccount),
      buyer: getAddress(t.buyerAccount),
      assetAmount: BigInt(t.size),
      cashAmount: t.funds,
      sellerFee: t.sellerFee,
      buyerFee: t.buyerFee,
      sellerTax: t.sellerTax,
    };
  }
}
