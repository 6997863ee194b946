import { formValue, keepText, type Form, type KeptText } from "../journal/jsonCodec.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { Market } from "../markets/types.ts";
import type { FailedSettlement, SettlementTrade } from "../records/orders.ts";

/** The accounts every trade pays into besides its two sides. */
export type HouseAccounts = { readonly feeAccount: string; readonly taxAccount: string };

export type SnapshotTrade = Omit<SettlementTrade, "funds" | "sellerFee" | "buyerFee" | "sellerTax"> & Record<"funds" | "sellerFee" | "buyerFee", string> & { sellerTax?: string };

/** The settlement part of a trading core snapshot (see TradingCoreSnapshot for the whole). */
export type SettlementBookSnapshot = {
  /** A capture holds the trades as their kept text (decoded, every one is a SnapshotTrade). */
  unsettled: Array<Form<SnapshotTrade>>;
  /** Trades the vault refused, waiting for an operator (absent in older snapshots). */
  failedSettlements?: Array<SnapshotTrade & { reason: string; failedAt: number }>;
};

/**
 * Trades on their way to the chain: those not yet confirmed settled, in trade order (a retried
 * failed trade joins at the end), and those the vault refused, until an operator retries or
 * reverses them. A reversal moves balances on the ledger it is given (the core's, which a
 * restore replaces); reporting those balances is the core's.
 */
export class SettlementBook {
  readonly #unsettled = new Map<string, SettlementTrade>();
  readonly #failed = new Map<string, FailedSettlement>();
  /**
   * Snapshot forms of the unsettled trades, in the book's order. A trade in the book is never
   * changed, only replaced (retry) or removed, each of which drops its form here; trades added
   * since the last capture wait in #formless (from #formlessHead on), and formAhead or the
   * capture appends their forms in that order, so the two maps keep the same order and a capture
   * converts only the trades added since the last one. Each is kept as its text alone (see
   * OrderStore's finished forms).
   */
  readonly #forms = new Map<string, KeptText<SnapshotTrade>>();
  #formless: SettlementTrade[] = [];
  #formlessHead = 0;

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
    this.#formless.push(t);
  }

  /** Confirmed on chain: the trade leaves the book (undefined when it was not waiting to settle). */
  settle(tradeId: string): SettlementTrade | undefined {
    const t = this.#unsettled.get(tradeId);
    if (t !== undefined) this.#unsettled.delete(tradeId);
    this.#forms.delete(tradeId);
    return t;
  }

  /** Refused by the vault: waits for an operator (undefined when it was not waiting to settle). */
  fail(tradeId: string, reason: string, ts: number): FailedSettlement | undefined {
    const t = this.#unsettled.get(tradeId);
    if (t === undefined) return undefined;
    this.#unsettled.delete(tradeId);
    this.#forms.delete(tradeId);
    const failed: FailedSettlement = { ...t, reason, failedAt: ts };
    this.#failed.set(tradeId, failed);
    return failed;
  }

  /** An operator's retry: the failed trade queues again, behind the trades already waiting. */
  retry(f: Readonly<FailedSettlement>): void {
    this.#failed.delete(f.tradeId);
    const { reason: _reason, failedAt: _failedAt, ...trade } = f;
    this.#unsettled.set(f.tradeId, trade);
    this.#forms.delete(f.tradeId);
    this.#formless.push(trade);
  }

  /**
   * The account that no longer has available what a failed trade gave it (so the trade cannot
   * be reversed yet), or undefined when the reversal can go through.
   */
  reversalShortOf(f: Readonly<FailedSettlement>, market: Market, ledger: Ledger, house: HouseAccounts): string | undefined {
    if (ledger.balance(f.sellerAccount, market.quote).available < f.funds - f.sellerFee - f.sellerTax) return f.sellerAccount;
    if (ledger.balance(house.feeAccount, market.quote).available < f.buyerFee + f.sellerFee) return house.feeAccount;
    if (ledger.balance(house.taxAccount, market.quote).available < f.sellerTax) return house.taxAccount;
    if (ledger.balance(f.buyerAccount, market.base).available < BigInt(f.size)) return f.buyerAccount;
    return undefined;
  }

  /**
   * An operator's reversal: each side gives back exactly what the trade gave it (the seller the
   * cash net of its fee and tax, the fee account both fees, the tax account the tax, the buyer
   * the units), so the buyer gets cash plus its fee back and the seller its units, and the trade
   * is never settled. Only from available balances: what is held belongs to open orders or
   * withdrawals, so an operator cancels those first when a side falls short (false, nothing moved).
   */
  reverse(f: Readonly<FailedSettlement>, market: Market, ledger: Ledger, house: HouseAccounts): boolean {
    if (this.reversalShortOf(f, market, ledger, house) !== undefined) return false;
    const sellerCash = f.funds - f.sellerFee - f.sellerTax;
    const fees = f.buyerFee + f.sellerFee;
    const size = BigInt(f.size);
    for (const [from, to, currency, amount] of [
      [f.sellerAccount, f.buyerAccount, market.quote, sellerCash],
      [house.feeAccount, f.buyerAccount, market.quote, fees],
      [house.taxAccount, f.buyerAccount, market.quote, f.sellerTax],
      [f.buyerAccount, f.sellerAccount, market.base, size],
    ] as const) {
      if (amount === 0n) continue;
      ledger.hold(from, currency, amount);
      ledger.transferFromHold(from, to, currency, amount);
    }
    this.#failed.delete(f.tradeId);
    return true;
  }

  /** Unsettled trades, incremental unless `full` (see #forms). */
  snapshotUnsettled(full: boolean): SettlementBookSnapshot["unsettled"] {
    if (full) return [...this.#unsettled.values()].map(tradeToSnapshot);
    const f = this.#formless;
    for (let i = this.#formlessHead; i < f.length; i++) this.#form(f[i]);
    this.#formless = [];
    this.#formlessHead = 0;
    return [...this.#forms.values()];
  }

  /**
   * Makes up to `budget` forms of the trades still without one while more than `keep` wait
   * (oldest first). While trades settle as fast as they are made, the ones reached here have
   * settled and need none; when settlement stalls (the chain is down), the capture still makes
   * only about `keep`, however many trades wait. Returns how many it made.
   */
  formAhead(keep: number, budget: number): number {
    const f = this.#formless;
    let h = this.#formlessHead;
    const until = Math.min(f.length - keep, h + budget);
    if (h >= until) return 0;
    let made = 0;
    for (; h < until; h++) if (this.#form(f[h])) made++;
    // Drop the formed head now and then, so the queue does not keep every trade ever made.
    if (h > 4096 && h * 2 > f.length) {
      this.#formless = f.slice(h);
      h = 0;
    }
    this.#formlessHead = h;
    return made;
  }

  /** Whether `t` got a form: not when it settled or failed since it was added (nothing to keep). */
  #form(t: SettlementTrade): boolean {
    if (this.#unsettled.get(t.tradeId) !== t) return false;
    this.#forms.set(t.tradeId, keepText(tradeToSnapshot(t)));
    return true;
  }

  snapshotFailed(): NonNullable<SettlementBookSnapshot["failedSettlements"]> {
    return [...this.#failed.values()].map((t) => ({ ...tradeToSnapshot(t), reason: t.reason, failedAt: t.failedAt }));
  }

  restore(s: SettlementBookSnapshot): void {
    this.#forms.clear();
    this.#formless = [];
    this.#formlessHead = 0;
    for (const form of s.unsettled) {
      const t = formValue(form);
      const trade = tradeFromSnapshot(t);
      this.#unsettled.set(t.tradeId, trade);
      this.#formless.push(trade);
    }
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
