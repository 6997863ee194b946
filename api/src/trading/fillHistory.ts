import { formValue, keepText, type Form, type KeptText } from "../journal/jsonCodec.ts";
import type { Fill, SettlementTrade } from "../records/orders.ts";

export type SnapshotFill = Omit<Fill, "funds" | "fee" | "tax"> & { funds: string; fee: string; tax?: string };

/** The fills part of a trading core snapshot (see TradingCoreSnapshot for the whole). */
export type FillHistorySnapshot = {
  /** A capture holds the fills as their kept text (decoded, every one is a SnapshotFill). */
  fills: Array<[string, Array<Form<SnapshotFill>>]>;
  /** Older snapshots only: tradeId -> settlement tx (now kept on the fills). */
  settlementTx?: Array<[string, string]>;
};

/**
 * Each account's latest fills (for /api/v1/fills), oldest first and capped per account (older
 * ones live in the audit log), with how each fill's settlement went. The fills are the core's
 * live records: settlement marks them in place.
 */
export class FillHistory {
  /**
   * Each account's fills, oldest first: the last `perAccount` are the kept ones; up to `#slack`
   * older ones wait in front to be dropped in bulk. Dropping the oldest at each fill moved the
   * whole array (10,000 by default) once per fill of an account at its cap.
   */
  readonly #byAccount = new Map<string, Fill[]>();
  readonly #perAccount: number;
  readonly #slack: number;
  /**
   * Each account's snapshot forms, index for index with its list: made ahead of the capture
   * (formAhead) or by the first capture that needs them, made again when this class marks the
   * fill, spliced with the list. A fill changes only here (mark, markSettled), so a capture
   * converts only fills new since the last one and hands out the rest again. Each is kept as its
   * text alone (see OrderStore's finished forms).
   */
  readonly #forms = new Map<string, Array<KeptText<SnapshotFill> | undefined>>();
  /** Accounts with fills added since their forms were last made, and how many (formAhead's queue, oldest first). */
  readonly #unformed = new Map<string, number>();
  #unformedCount = 0;

  constructor(perAccount: number) {
    this.#perAccount = perAccount;
    this.#slack = Math.max(16, perAccount >> 1);
  }

  list(accountId: string): readonly Fill[] {
    const list = this.#byAccount.get(accountId);
    return list === undefined ? [] : this.#kept(list);
  }

  /** The kept fills of a list: its last `perAccount`. */
  #kept(list: Fill[]): Fill[] {
    return list.length > this.#perAccount ? list.slice(list.length - this.#perAccount) : list;
  }

  add(fill: Fill): void {
    let list = this.#byAccount.get(fill.accountId);
    if (list === undefined) {
      list = [];
      this.#byAccount.set(fill.accountId, list);
    }
    list.push(fill);
    this.#unformed.set(fill.accountId, (this.#unformed.get(fill.accountId) ?? 0) + 1);
    this.#unformedCount++;
    if (list.length > this.#perAccount + this.#slack) {
      const drop = list.length - this.#perAccount;
      list.splice(0, drop);
      this.#forms.get(fill.accountId)?.splice(0, drop);
    }
  }

  /** Settlement follows the trade closely: the fill is near the end of each side's list. */
  markSettled(t: Readonly<SettlementTrade>, txHash: string): void {
    this.#markSettled(t.sellerAccount, t.tradeId, txHash);
    if (t.buyerAccount !== t.sellerAccount) this.#markSettled(t.buyerAccount, t.tradeId, txHash);
  }

  /** Sets (or, with undefined, clears) the settlement status of both sides' fills of a trade. */
  mark(t: Readonly<SettlementTrade>, status: Pick<Fill, "settlementStatus" | "settlementError">): void {
    for (const account of new Set([t.sellerAccount, t.buyerAccount])) {
      const list = this.#byAccount.get(account);
      const at = list?.findLastIndex((f) => f.tradeId === t.tradeId) ?? -1;
      if (list === undefined || at < list.length - this.#perAccount) continue; // beyond the fills kept per account
      const fill = list[at];
      fill.settlementStatus = status.settlementStatus;
      fill.settlementError = status.settlementError;
      if (fill.settlementStatus === undefined) delete fill.settlementStatus;
      if (fill.settlementError === undefined) delete fill.settlementError;
      this.#changed(account, at);
    }
  }

  #markSettled(accountId: string, tradeId: string, txHash: string): void {
    const list = this.#byAccount.get(accountId);
    if (!list) return;
    for (let i = list.length - 1, oldest = Math.max(0, list.length - this.#perAccount); i >= oldest; i--) {
      if (list[i].tradeId === tradeId) {
        list[i].settlementTxHash = txHash;
        this.#changed(accountId, i);
        return;
      }
    }
  }

  /**
   * The fill at `index` of the account's list has changed: a form already made is made again
   * now (settlement marks each fill once, and a capture must not have to remake every fill
   * settled since the last one; a frozen form cannot be patched).
   */
  #changed(accountId: string, index: number): void {
    const forms = this.#forms.get(accountId);
    if (forms !== undefined && index < forms.length && forms[index] !== undefined) forms[index] = keepText(fillForm(this.#byAccount.get(accountId)![index]));
  }

  /** Incremental unless `full`: a fill unchanged since the last capture keeps its form (see #forms). */
  snapshot(full: boolean): FillHistorySnapshot["fills"] {
    if (!full) {
      this.#unformed.clear();
      this.#unformedCount = 0;
    }
    return [...this.#byAccount].map(([a, list]) => {
      const from = Math.max(0, list.length - this.#perAccount);
      if (full) return [a, list.slice(from).map(fillForm)];
      const forms = this.#formsOf(a);
      this.#formTail(list, forms, Number.POSITIVE_INFINITY);
      return [a, forms.slice(from) as Array<KeptText<SnapshotFill>>];
    });
  }

  #formsOf(accountId: string): Array<KeptText<SnapshotFill> | undefined> {
    let forms = this.#forms.get(accountId);
    if (forms === undefined) {
      forms = [];
      this.#forms.set(accountId, forms);
    }
    return forms;
  }

  /**
   * Makes up to `budget` forms of the kept fills of `list` that have none (the ones still
   * without are then those from forms.length on); returns how many it made. Formed entries are
   * contiguous up to forms.length (a changed fill is formed again at once, a splice drops forms
   * with their fills), so those are the list's tail from there; the entries before the kept
   * fills stay holes.
   */
  #formTail(list: Fill[], forms: Array<KeptText<SnapshotFill> | undefined>, budget: number): number {
    const from = Math.max(forms.length, list.length - this.#perAccount);
    while (forms.length < from) forms.push(undefined);
    const end = Math.min(list.length, from + budget);
    for (let i = from; i < end; i++) forms.push(keepText(fillForm(list[i])));
    return end - from;
  }

  /**
   * Makes up to `budget` forms of the fills that have none yet, account by account (the account
   * that waited longest first), while more than `keep` wait: the next capture then makes at
   * most about `keep`, however many fills were made since the last one. Returns how many it made.
   */
  formAhead(keep: number, budget: number): number {
    // Called after every live record: nothing made, not even an iterator, while few wait.
    if (this.#unformedCount <= keep) return 0;
    let made = 0;
    for (const [a, n] of this.#unformed) {
      if (this.#unformedCount <= keep || made >= budget) break;
      const list = this.#byAccount.get(a);
      let left = 0;
      if (list !== undefined) {
        const forms = this.#formsOf(a);
        made += this.#formTail(list, forms, budget - made);
        left = list.length - forms.length;
      }
      if (left === 0) this.#unformed.delete(a);
      else this.#unformed.set(a, left);
      this.#unformedCount -= n - left;
    }
    return made;
  }

  restore(s: FillHistorySnapshot): void {
    this.#forms.clear();
    this.#unformed.clear();
    this.#unformedCount = 0;
    for (const [a, fs] of s.fills) {
      this.#byAccount.set(a, fs.map(formValue).map((f) => ({ ...f, funds: BigInt(f.funds), fee: BigInt(f.fee), tax: BigInt(f.tax ?? 0) })));
      // Formed ahead of the first capture like new ones, not all by it.
      this.#unformed.set(a, fs.length);
      this.#unformedCount += fs.length;
    }
    if (s.settlementTx?.length) {
      const tx = new Map(s.settlementTx);
      for (const list of this.#byAccount.values()) for (const f of list) f.settlementTxHash ??= tx.get(f.tradeId);
    }
  }
}

function fillForm(f: Fill): SnapshotFill {
  return { ...f, funds: f.funds.toString(), fee: f.fee.toString(), tax: f.tax.toString() };
}
