/**
 * Balances per account and currency in integer smallest units: `available` can be spent,
 * `hold` is reserved for open orders and pending withdrawals. Every operation either
 * applies whole or returns false / throws before changing anything, and no operation
 * creates or destroys value except `deposit` and `withdraw` (conservation is
 * property-tested).
 */
export type Balance = { available: bigint; hold: bigint };

export type LedgerSnapshot = Array<[account: string, currency: string, available: string, hold: string]>;

export class LedgerInvariantError extends Error {
  override name = "LedgerInvariantError" as const;
}

export class Ledger {
  readonly #accounts = new Map<string, Map<string, Balance>>();

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

  /** Credits money that entered the exchange (an on-chain deposit). */
  deposit(account: string, currency: string, amount: bigint): void {
    this.#positive(amount);
    this.#entry(account, currency).available += amount;
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
    b.available += amount;
  }

  /** Pays `amount` out of `from`'s hold into `to`'s available (a fill, a fee). */
  transferFromHold(from: string, to: string, currency: string, amount: bigint): void {
    this.#nonNegative(amount);
    const src = this.#entry(from, currency);
    if (src.hold < amount) throw new LedgerInvariantError(`transfer ${amount} > hold ${src.hold} (${from} ${currency})`);
    src.hold -= amount;
    this.#entry(to, currency).available += amount;
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
      if (b) sum += b.available + b.hold;
    }
    return sum;
  }

  snapshot(): LedgerSnapshot {
    const out: LedgerSnapshot = [];
    for (const [account, byCurrency] of this.#accounts) {
      for (const [currency, b] of byCurrency) out.push([account, currency, b.available.toString(), b.hold.toString()]);
    }
    return out;
  }

  static restore(snapshot: LedgerSnapshot): Ledger {
    const ledger = new Ledger();
    for (const [account, currency, available, hold] of snapshot) {
      const b = ledger.#entry(account, currency);
      b.available = BigInt(available);
      b.hold = BigInt(hold);
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

  #positive(amount: bigint): void {
    if (amount <= 0n) throw new LedgerInvariantError(`amount must be positive, got ${amount}`);
  }

  #nonNegative(amount: bigint): void {
    if (amount < 0n) throw new LedgerInvariantError(`amount must not be negative, got ${amount}`);
  }
}
