import { CaptureCache, copyTrade, sameTrade } from "./captureCache.ts";
import type { FailedSettlement, SettlementTrade } from "./orders.ts";

export type SnapshotTrade = Omit<SettlementTrade, "funds" | "sellerFee" | "buyerFee" | "sellerTax"> & Record<"funds" | "sellerFee" | "buyerFee", string> & { sellerTax?: string };

/** The settlement part of a trading core snapshot (see TradingCoreSnapshot for the whole). */
export type SettlementBookSnapshot = {
  unsettled: SnapshotTrade[];
  /** Trades the vault refused, waiting for an operator (absent in older snapshots). */
  failedSettlements?: Array<SnapshotTrade & { reason: string; failedAt: number }>;
};

/**
 * Trades on their way to the chain: those not yet confirmed settled, in trade order (a retried
 * failed trade joins at the end), and those the vault refused, until an operator retries or
 * reverses them. What a reversal does to balances is the core's (it owns the ledger); this book
 * only says where each trade stands.
 */
export class SettlementBook {
  readonly #unsettled = new Map<string, SettlementTrade>();
  readonly #failed = new Map<string, FailedSettlement>();
  /** Snapshot forms from earlier captures, reused while a trade is unchanged. */
  readonly #forms = new CaptureCache<SettlementTrade, SnapshotTrade>(sameTrade, copyTrade);

  get unsettledCount(): number {
    return this.#unsettled.size;
  }

  unsettled(): IterableIterator<SettlementTrade> {
    return this.#unsettled.values();
  }

  failed(tradeId: string): FailedSettlement | undefined {
    return this.#failed.get(tradeId);
  }

  allFailed(): IterableIterator<FailedSettlement> {
    return this.#failed.values();
  }

  /** A new trade, to be settled. */
  add(t: SettlementTrade): void {
    this.#unsettled.set(t.tradeId, t);
  }

  /** Confirmed on chain: the trade leaves the book (undefined when it was not waiting to settle). */
  settle(tradeId: string): SettlementTrade | undefined {
    const t = this.#unsettled.get(tradeId);
    if (t !== undefined) this.#unsettled.delete(tradeId);
    return t;
  }

  /** Refused by the vault: waits for an operator (undefined when it was not waiting to settle). */
  fail(tradeId: string, reason: string, ts: number): FailedSettlement | undefined {
    const t = this.#unsettled.get(tradeId);
    if (t === undefined) return undefined;
    this.#unsettled.delete(tradeId);
    const failed: FailedSettlement = { ...t, reason, failedAt: ts };
    this.#failed.set(tradeId, failed);
    return failed;
  }

  /** An operator's retry: the failed trade queues again, behind the trades already waiting. */
  retry(f: Readonly<FailedSettlement>): void {
    this.#failed.delete(f.tradeId);
    const { reason: _reason, failedAt: _failedAt, ...trade } = f;
    this.#unsettled.set(f.tradeId, trade);
  }

  /** An operator's reversal went through: the trade is never settled. */
  reversed(tradeId: string): void {
    this.#failed.delete(tradeId);
  }

  /** Unsettled trades, incremental unless `full` (see CaptureCache). */
  snapshotUnsettled(full: boolean): SettlementBookSnapshot["unsettled"] {
    const forms = this.#forms;
    forms.begin();
    return [...this.#unsettled.values()].map(full ? tradeToSnapshot : (t) => forms.form(t, tradeToSnapshot));
  }

  snapshotFailed(): NonNullable<SettlementBookSnapshot["failedSettlements"]> {
    return [...this.#failed.values()].map((t) => ({ ...tradeToSnapshot(t), reason: t.reason, failedAt: t.failedAt }));
  }

  restore(s: SettlementBookSnapshot): void {
    for (const t of s.unsettled) this.#unsettled.set(t.tradeId, tradeFromSnapshot(t));
    for (const t of s.failedSettlements ?? []) this.#failed.set(t.tradeId, { ...tradeFromSnapshot(t), reason: t.reason, failedAt: t.failedAt });
  }
}

function tradeToSnapshot(t: Readonly<SettlementTrade>): SnapshotTrade {
  return {
    tradeId: t.tradeId,
    symbol: t.symbol,
    sellerAccount: t.sellerAccount,
    buyerAccount: t.buyerAccount,
    size: t.size,
    funds: t.funds.toString(),
    sellerFee: t.sellerFee.toString(),
    buyerFee: t.buyerFee.toString(),
    sellerTax: t.sellerTax.toString(),
    createdAt: t.createdAt,
  };
}

function tradeFromSnapshot(t: SnapshotTrade): SettlementTrade {
  return { ...t, funds: BigInt(t.funds), sellerFee: BigInt(t.sellerFee), buyerFee: BigInt(t.buyerFee), sellerTax: BigInt(t.sellerTax ?? 0) };
}
