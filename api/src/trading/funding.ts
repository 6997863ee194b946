import type { Deposit, Withdrawal } from "./orders.ts";
import type { DepositRecord } from "./records.ts";

/** The funding part of a trading core snapshot (see TradingCoreSnapshot for the whole). */
export type FundingSnapshot = {
  /** Every deposit reference ever credited: a deposit seen again is refused. */
  deposits: string[];
  withdrawals: Array<Omit<Withdrawal, "amount"> & { amount: string }>;
  /** Each account's credited deposits, oldest first (absent in older snapshots: their deposits are not listed). */
  depositHistory?: Array<[string, Array<Omit<Deposit, "amount" | "accountId"> & { amount: string }>]>;
};

/**
 * Money moving in and out of the exchange: which chain deposits were credited (once each, by
 * reference), each account's deposit history, and withdrawals from request to outcome. The
 * balances themselves are the ledger's; the core moves them and records here what moved.
 */
export class Funding {
  readonly #refs = new Set<string>();
  readonly #history = new Map<string, Deposit[]>();
  readonly #withdrawals = new Map<string, Withdrawal>();

  applied(ref: string): boolean {
    return this.#refs.has(ref);
  }

  /** Records a deposit as credited; false when its reference already was (nothing changes then). */
  credit(r: DepositRecord): boolean {
    if (this.#refs.has(r.ref)) return false;
    this.#refs.add(r.ref);
    const deposit: Deposit = { accountId: r.accountId, currency: r.currency, amount: BigInt(r.amount), ref: r.ref, createdAt: r.ts };
    const list = this.#history.get(r.accountId);
    if (list === undefined) this.#history.set(r.accountId, [deposit]);
    else list.push(deposit);
    return true;
  }

  /** The account's credited deposits, oldest first. */
  deposits(accountId: string): readonly Readonly<Deposit>[] {
    return this.#history.get(accountId) ?? [];
  }

  /** The live record: the core updates its status as the chain reports. */
  withdrawal(withdrawalId: string): Withdrawal | undefined {
    return this.#withdrawals.get(withdrawalId);
  }

  withdrawals(): IterableIterator<Withdrawal> {
    return this.#withdrawals.values();
  }

  hasWithdrawal(withdrawalId: string): boolean {
    return this.#withdrawals.has(withdrawalId);
  }

  addWithdrawal(w: Withdrawal): void {
    this.#withdrawals.set(w.withdrawalId, w);
  }

  snapshot(): Required<FundingSnapshot> {
    return {
      deposits: [...this.#refs],
      withdrawals: [...this.#withdrawals.values()].map((w) => ({ ...w, amount: w.amount.toString() })),
      depositHistory: [...this.#history].map(([a, ds]) => [a, ds.map((d) => ({ currency: d.currency, amount: d.amount.toString(), ref: d.ref, createdAt: d.createdAt }))]),
    };
  }

  restore(s: FundingSnapshot): void {
    for (const d of s.deposits) this.#refs.add(d);
    for (const [a, ds] of s.depositHistory ?? []) this.#history.set(a, ds.map((d) => ({ ...d, accountId: a, amount: BigInt(d.amount) })));
    for (const w of s.withdrawals) this.#withdrawals.set(w.withdrawalId, { ...w, amount: BigInt(w.amount) });
  }
}
