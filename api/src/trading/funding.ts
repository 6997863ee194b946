import type { Ledger } from "../ledger/ledger.ts";
import type { Deposit, Withdrawal } from "../records/orders.ts";
import type { CustodyDebitRecord, DepositRecord, WithdrawDoneRecord, WithdrawFailedRecord, WithdrawRequestRecord } from "../records/tradingRecords.ts";

/** The funding part of a trading core snapshot (see TradingCoreSnapshot for the whole). */
export type FundingSnapshot = {
  /** Every deposit reference ever credited: a deposit seen again is refused. */
  deposits: string[];
  withdrawals: Array<Omit<Withdrawal, "amount"> & { amount: string }>;
  /** Each account's credited deposits, oldest first (absent in older snapshots: their deposits are not listed). */
  depositHistory?: Array<[string, Array<Omit<Deposit, "amount" | "accountId"> & { amount: string }>]>;
  /** Every custody debit reference ever applied (absent in snapshots from before custody debits). */
  custodyDebits?: string[];
};

/**
 * Money moving in and out of the exchange: which chain deposits were credited (once each, by
 * reference), each account's deposit history, and withdrawals from request to outcome. The
 * balances themselves are the ledger's: each step moves them on the ledger it is given (the
 * core's, which a restore replaces); reporting the balances is the core's.
 */
export class Funding {
  readonly #refs = new Set<string>();
  readonly #history = new Map<string, Deposit[]>();
  readonly #withdrawals = new Map<string, Withdrawal>();
  /** Apart from deposits' references: `depositApplied` answers for deposits only. */
  readonly #debits = new Set<string>();

  applied(ref: string): boolean {
    return this.#refs.has(ref);
  }

  /** Credits a deposit; false when its reference already was (nothing changes then). */
  credit(r: DepositRecord, ledger: Ledger): boolean {
    if (this.#refs.has(r.ref)) return false;
    this.#refs.add(r.ref);
    const deposit: Deposit = { accountId: r.accountId, currency: r.currency, amount: BigInt(r.amount), ref: r.ref, createdAt: r.ts };
    const list = this.#history.get(r.accountId);
    if (list === undefined) this.#history.set(r.accountId, [deposit]);
    else list.push(deposit);
    ledger.deposit(r.accountId, r.currency, deposit.amount);
    return true;
  }

  debitApplied(ref: string): boolean {
    return this.#debits.has(ref);
  }

  /**
   * Takes custody that left the vault off the account's ledger: from available, the rest owed
   * (the core has released what holds it could before). Undefined when its reference already
   * was (nothing changes then); else the part owed.
   */
  debit(r: CustodyDebitRecord, ledger: Ledger): bigint | undefined {
    if (this.#debits.has(r.ref)) return undefined;
    const owed = ledger.debit(r.accountId, r.currency, BigInt(r.amount));
    this.#debits.add(r.ref);
    return owed;
  }

  /** The account's credited deposits, oldest first. */
  deposits(accountId: string): readonly Readonly<Deposit>[] {
    return this.#history.get(accountId) ?? [];
  }

  withdrawal(withdrawalId: string): Readonly<Withdrawal> | undefined {
    return this.#withdrawals.get(withdrawalId);
  }

  withdrawals(): IterableIterator<Readonly<Withdrawal>> {
    return this.#withdrawals.values();
  }

  /**
   * A withdrawal asked for: its amount goes on hold until the chain says how it went. Undefined
   * when refused (its id already used, nothing to withdraw, or not that much available).
   */
  request(r: WithdrawRequestRecord, ledger: Ledger): Withdrawal | undefined {
    const amount = BigInt(r.amount);
    if (this.#withdrawals.has(r.withdrawalId) || amount <= 0n || !ledger.hold(r.accountId, r.currency, amount)) return undefined;
    const w: Withdrawal = { withdrawalId: r.withdrawalId, accountId: r.accountId, currency: r.currency, amount, status: "PROCESSING", createdAt: r.ts, updatedAt: r.ts };
    this.#withdrawals.set(w.withdrawalId, w);
    return w;
  }

  /** The chain's outcome: done pays the held amount out, failed gives it back. Undefined when the withdrawal was not pending. */
  conclude(r: WithdrawDoneRecord | WithdrawFailedRecord, ledger: Ledger): Withdrawal | undefined {
    const w = this.#withdrawals.get(r.withdrawalId);
    if (!w || w.status !== "PROCESSING") return undefined;
    if (r.t === "withdrawDone") {
      ledger.withdraw(w.accountId, w.currency, w.amount);
      w.status = "SUCCESS";
      w.txHash = r.txHash;
    } else {
      ledger.release(w.accountId, w.currency, w.amount);
      w.status = "FAILURE";
      w.reason = r.reason;
    }
    w.updatedAt = r.ts;
    return w;
  }

  snapshot(): Required<FundingSnapshot> {
    return {
      custodyDebits: [...this.#debits],
      deposits: [...this.#refs],
      withdrawals: [...this.#withdrawals.values()].map((w) => ({ ...w, amount: w.amount.toString() })),
      depositHistory: [...this.#history].map(([a, ds]) => [a, ds.map((d) => ({ currency: d.currency, amount: d.amount.toString(), ref: d.ref, createdAt: d.createdAt }))]),
    };
  }

  restore(s: FundingSnapshot): void {
    for (const d of s.deposits) this.#refs.add(d);
    for (const d of s.custodyDebits ?? []) this.#debits.add(d);
    for (const [a, ds] of s.depositHistory ?? []) this.#history.set(a, ds.map((d) => ({ ...d, accountId: a, amount: BigInt(d.amount) })));
    for (const w of s.withdrawals) this.#withdrawals.set(w.withdrawalId, { ...w, amount: BigInt(w.amount) });
  }
}
