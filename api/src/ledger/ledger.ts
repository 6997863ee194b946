/**
 * Balances per account and currency in integer smallest units: `available` can be spent,
 * `hold` is reserved for open orders and pending withdrawals. Every operation either
 * applies whole or returns false / throws before changing anything, and no operation
 * creates or destroys value except `deposit`, `withdraw` and `debit` (conservation is
 * property-tested).
 *
 * `owed` (absent when none): what a `debit` could not take because the account no longer had
 * it here (custody the token's agent took from the vault while the ledger had already given it
 * to trades not yet settled). It is never negative available: whatever later becomes available
 * to the account in that currency (a deposit, a fill, a released hold, a reversal) pays it off
 * first, so while anything is owed available stays 0 and nothing can be spent or withdrawn.
 * An account's worth is available + hold - owed.
 */
export type Balance = { available: bigint; hold: bigint; owed?: bigint };

/** `owed`: only in rows that owe something (and absent in snapshots from before it existed). */
export type LedgerSnapshot = Array<[account: string, currency: string, available: string, hold: string, owed?: string]>;

export class LedgerInvariantError extends Error {
  override name = "LedgerInvariantError" as const;
}

export class Ledger {
  readonly #accounts = new Map<string, Map<string, Balance>>();
  /** The balances that owe something, with whose they are: the operator's list without a walk over every account. */
  readonly #owing = new Map<Balance, readonly [account: string, currency: string]>();

  balance(account: string, currency: string): Readonly<Balance> {
    return this.#accounts.get(account)?.get(currency) ?? { available: 0n, hold: 0n };
  }

  /** Every currency of `account` with a non-zero balance or hold. */
  balances(account: string): Array<[string, Readonly<Balance>]> {
    return [...(this.#accounts.get(account) ?? new Map<string, Balance>()).entries()];
  }

  accounts(): IterableIterator<string> {
    return this.#accounts.keys();
  }

  /** Every balance that owes something (see `owed`), in the order its debt arose. */
  owing(): Array<{ account: string; currency: string; balance: Readonly<Balance> }> {
    return [...this.#owing].map(([balance, [account, currency]]) => ({ account, currency, balance }));
  }

  /** Credits money that entered the exchange (an on-chain deposit). */
  deposit(account: string, currency: string, amount: bigint): void {
    this.#positive(amount);
    this.#credit(this.#entry(account, currency), amount);
  }

  /**
   * Removes `amount` that left the exchange other than by a withdrawal (custody taken from the
   * vault by the token's agent): from available, and what available lacks becomes owed (the
   * caller first releases whatever holds it can). Returns the part that is owed.
   */
  debit(account: string, currency: string, amount: bigint): bigint {
    this.#positive(amount);
    const b = this.#entry(account, currency);
    const taken = b.available < amount ? b.available : amount;
    b.available -= taken;
    const owed = amount - taken;
    if (owed > 0n) {
      b.owed = (b.owed ?? 0n) + owed;
      if (!this.#owing.has(b)) this.#owing.set(b, [account, currency]);
    }
    return owed;
  }

  /** Moves `amount` from available to hold; false (and nothing changed) if not enough. */
  hold(account: string, currency: string, amount: bigint): boolean {
    this.#nonNegative(amount);
    const b = this.#entry(account, currency);
    if (b.available < amount) return false;
    b.available -= amount;
    b.hold += amount;
    return true;
  }

  /** Moves `amount` from hold back to available. */
  release(account: string, currency: string, amount: bigint): void {
    this.#nonNegative(amount);
    const b = this.#entry(account, currency);
    if (b.hold < amount) throw new LedgerInvariantError(`release ${amount} > hold ${b.hold} (${account} ${currency})`);
    b.hold -= amount;
    this.#credit(b, amount);
  }

  /** Pays `amount` out of `from`'s hold into `to`'s available (a fill, a fee). */
  transferFromHold(from: string, to: string, currency: string, amount: bigint): void {
    this.#nonNegative(amount);
    const src = this.#entry(from, currency);
    if (src.hold < amount) throw new LedgerInvariantError(`transfer ${amount} > hold ${src.hold} (${from} ${currency})`);
    src.hold -= amount;
    this.#credit(this.#entry(to, currency), amount);
  }

  /** Removes `amount` from hold: money that left the exchange (a confirmed withdrawal). */
  withdraw(account: string, currency: string, amount: bigint): void {
    this.#positive(amount);
    const b = this.#entry(account, currency);
    if (b.hold < amount) throw new LedgerInvariantError(`withdraw ${amount} > hold ${b.hold} (${account} ${currency})`);
    b.hold -= amount;
  }

  /** Sum of available + hold over all accounts for one currency. */
  total(currency: string): bigint {
    let sum = 0n;
    for (const byCurrency of this.#accounts.values()) {
      const b = byCurrency.get(currency);
      if (b) sum += b.available + b.hold - (b.owed ?? 0n);
    }
    return sum;
  }

  snapshot(): LedgerSnapshot {
    const out: LedgerSnapshot = [];
    for (const [account, byCurrency] of this.#accounts) {
      for (const [currency, b] of byCurrency) {
        out.push(b.owed === undefined ? [account, currency, b.available.toString(), b.hold.toString()] : [account, currency, b.available.toString(), b.hold.toString(), b.owed.toString()]);
      }
    }
    return out;
  }

  static restore(snapshot: LedgerSnapshot): Ledger {
    const ledger = new Ledger();
    for (const [account, currency, available, hold, owed] of snapshot) {
      const b = ledger.#entry(account, currency);
      b.available = BigInt(available);
      b.hold = BigInt(hold);
      if (owed !== undefined) {
        b.owed = BigInt(owed);
        ledger.#owing.set(b, [account, currency]);
      }
    }
    return ledger;
  }

  #entry(account: string, currency: string): Balance {
    let byCurrency = this.#accounts.get(account);
    if (!byCurrency) {
      byCurrency = new Map();
      this.#accounts.set(account, byCurrency);
    }
    let b = byCurrency.get(currency);
    if (!b) {
      b = { available: 0n, hold: 0n };
      byCurrency.set(currency, b);
    }
    return b;
  }

  /** Money becoming available to the account pays what it owes first. */
  #credit(b: Balance, amount: bigint): void {
    const owed = b.owed;
    if (owed === undefined) {
      b.available += amount;
      return;
    }
    if (amount < owed) {
      b.owed = owed - amount;
      return;
    }
    delete b.owed;
    this.#owing.delete(b);
    b.available += amount - owed;
  }

  #positive(amount: bigint): void {
    if (amount <= 0n) throw new LedgerInvariantError(`amount must be positive, got ${amount}`);
  }

  #nonNegative(amount: bigint): void {
    if (amount < 0n) throw new LedgerInvariantError(`amount must not be negative, got ${amount}`);
  }
}
