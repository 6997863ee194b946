import { getAddress, parseAbiItem, type Address, type Hash, type PublicClient } from "viem";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { TradingService } from "../trading/tradingService.ts";
import { taxPolicySetEvent } from "./taxPolicy.ts";

export const depositedEvent = parseAbiItem(
  "event Deposited(uint256 indexed depositId, address indexed wallet, address indexed token, uint256 amount)",
);

/** One Deposited event of the settlement vault. */
export type VaultDeposit = {
  depositId: bigint;
  /** Lower case: the ledger's account id. */
  wallet: string;
  token: Address;
  amount: bigint;
  blockNumber: bigint;
  logIndex: number;
  txHash: Hash | null;
  /** The journaled reference that makes crediting idempotent. */
  ref: string;
};

/** What crediting one deposit did: "unlisted" when Sen has no currency for its token (yet). */
export type DepositOutcome = "credited" | "already" | "unlisted";

/** One Deposited log as the vault emitted it, or null for one that credits nothing. */
function depositOf(vault: Address, log: { args: { depositId?: bigint; wallet?: Address; token?: Address; amount?: bigint }; blockNumber: bigint | null; logIndex: number | null; transactionHash: Hash | null }): VaultDeposit | null {
  const { depositId, wallet, token, amount } = log.args;
  // The vault refuses a zero deposit: one here credits nothing and is not worth waiting for.
  if (depositId === undefined || !wallet || !token || !amount || log.blockNumber === null || log.logIndex === null) return null;
  return {
    depositId,
    wallet: wallet.toLowerCase(),
    token: getAddress(token),
    amount,
    blockNumber: log.blockNumber,
    logIndex: log.logIndex,
    txHash: log.transactionHash,
    ref: `vault:${getAddress(vault)}:${depositId}`,
  };
}

/** Sen's currency whose token is `token`, if the catalog has one. */
export function currencyOfToken(catalog: MarketCatalog, token: Address): string | undefined {
  for (const c of catalog.currencies.values()) if (c.token && getAddress(c.token) === token) return c.currency;
  return undefined;
}

/**
 * Credits one deposit, exactly once: the core refuses a second deposit record with the same
 * reference (the vault's sequential depositId), also after a restart (the reference is journaled).
 */
export async function creditVaultDeposit(catalog: MarketCatalog, trading: TradingService, d: VaultDeposit): Promise<DepositOutcome> {
  const currency = currencyOfToken(catalog, d.token);
  if (!currency) return "unlisted";
  return (await trading.deposit(d.wallet, currency, d.amount, d.ref)) ? "credited" : "already";
}

export const custodyReturnedEvent = parseAbiItem("event CustodyReturned(address indexed token, address indexed fromWallet, address indexed toWallet, uint256 amount)");
export const custodySeizedEvent = parseAbiItem("event CustodySeized(address indexed token, address indexed fromWallet, address indexed toWallet, uint256 amount)");

/**
 * Custody that left the vault by the token agent's powers, not by a trade or a withdrawal:
 * `returned` (recoverBalance: paid out to another wallet of the same identity, into its wallet,
 * not its custody) or `seized` (forcedCustodyTransfer).
 */
export type VaultCustodyDebit = {
  kind: "returned" | "seized";
  /** Lower case: the ledger's account id, whose custody it was. */
  wallet: string;
  /** Lower case: the wallet that received it. */
  to: string;
  token: Address;
  amount: bigint;
  blockNumber: bigint;
  logIndex: number;
  txHash: Hash;
  /** The journaled reference that makes debiting idempotent: the event's place in the chain. */
  ref: string;
};

/** One CustodyReturned or CustodySeized log, or null for one with nothing to debit. */
function custodyDebitOf(
  vault: Address,
  log: { eventName: "CustodyReturned" | "CustodySeized"; args: { token?: Address; fromWallet?: Address; toWallet?: Address; amount?: bigint }; blockNumber: bigint | null; logIndex: number | null; transactionHash: Hash | null },
): VaultCustodyDebit | null {
  const { token, fromWallet, toWallet, amount } = log.args;
  // The vault emits neither for zero; a pending log has no place yet (never the case for a confirmed range).
  if (!token || !fromWallet || !toWallet || !amount || log.transactionHash === null || log.logIndex === null || log.blockNumber === null) return null;
  return {
    kind: log.eventName === "CustodySeized" ? "seized" : "returned",
    wallet: fromWallet.toLowerCase(),
    to: toWallet.toLowerCase(),
    token: getAddress(token),
    amount,
    blockNumber: log.blockNumber,
    logIndex: log.logIndex,
    txHash: log.transactionHash,
    ref: `vault:${getAddress(vault)}:${log.transactionHash}:${log.logIndex}`,
  };
}

/** Negative when `a` was logged before `b`: by block, then by place in the block. */
function chainOrder(a: { blockNumber: bigint | null; logIndex: number | null }, b: { blockNumber: bigint | null; logIndex: number | null }): number {
  const [ab, bb] = [a.blockNumber ?? 0n, b.blockNumber ?? 0n];
  return ab === bb ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : ab < bb ? -1 : 1;
}

export const feeAccountChangedEvent = parseAbiItem("event FeeAccountChanged(address indexed feeAccount)");

/**
 * A vault wallet named the fee account (FeeAccountChanged) or the tax account (TaxPolicySet):
 * the vault settles fees and withheld tax into its book, which the ledger's fee or tax account
 * mirrors. The constructor names both, so a read from the deployment block finds them.
 */
export type HouseWalletNamed = { kind: "fee" | "tax"; wallet: string; blockNumber: bigint; logIndex: number };

/**
 * The vault's events that move the ledger, in [fromBlock, toBlock], in chain order: its
 * deposits, the custody its tokens' agents took out, and the wallets it named the fee and tax
 * accounts. One `getLogs` for all of them, so a range is read whole or not at all (a failed
 * read leaves the caller's cursor where it was).
 */
export async function readVaultEvents(
  client: Pick<PublicClient, "getLogs" | "getBlockNumber">,
  vault: Address,
  range: { fromBlock: bigint; toBlock?: bigint },
): Promise<{ deposits: VaultDeposit[]; custodyDebits: VaultCustodyDebit[]; houseWallets: HouseWalletNamed[] }> {
  const logs = await client.getLogs({
    address: vault,
    events: [depositedEvent, custodyReturnedEvent, custodySeizedEvent, feeAccountChangedEvent, taxPolicySetEvent],
    fromBlock: range.fromBlock,
    toBlock: range.toBlock ?? (await client.getBlockNumber()),
  });
  const inChainOrder = [...logs].sort(chainOrder);
  const deposits: VaultDeposit[] = [];
  const custodyDebits: VaultCustodyDebit[] = [];
  const houseWallets: HouseWalletNamed[] = [];
  for (const log of inChainOrder) {
    if (log.eventName === "Deposited") {
      const d = depositOf(vault, log);
      if (d !== null) deposits.push(d);
    } else if (log.eventName === "FeeAccountChanged" || log.eventName === "TaxPolicySet") {
      const wallet = log.eventName === "FeeAccountChanged" ? log.args.feeAccount : log.args.account;
      if (wallet && log.blockNumber !== null && log.logIndex !== null) {
        houseWallets.push({ kind: log.eventName === "FeeAccountChanged" ? "fee" : "tax", wallet: wallet.toLowerCase(), blockNumber: log.blockNumber, logIndex: log.logIndex });
      }
    } else {
      const d = custodyDebitOf(vault, log);
      if (d !== null) custodyDebits.push(d);
    }
  }
  return { deposits, custodyDebits, houseWallets };
}

/**
 * The vault wallets named the fee or tax account so far, and the ledger account their custody
 * is booked to. Once named, always: a wallet that stops being the fee account keeps the fees
 * already in its book. Fed each range's names (again after a failed range: kept by place).
 */
export class HouseWallets {
  readonly #named = new Map<string, HouseWalletNamed>();
  readonly #accounts: { readonly fee: string; readonly tax: string };

  constructor(accounts: { readonly fee: string; readonly tax: string }) {
    this.#accounts = accounts;
  }

  learn(names: readonly HouseWalletNamed[]): void {
    for (const n of names) this.#named.set(`${n.blockNumber}:${n.logIndex}`, n);
  }

  /** The ledger account of `wallet`'s vault custody at a place in the chain: a house account once the vault named it one, else the wallet's own. */
  ledgerAccount(wallet: string, blockNumber: bigint, logIndex: number): string {
    const place = { blockNumber, logIndex };
    let latest: HouseWalletNamed | undefined;
    for (const n of this.#named.values()) {
      if (n.wallet !== wallet || chainOrder(n, place) > 0) continue;
      if (latest === undefined || chainOrder(n, latest) > 0) latest = n;
    }
    if (latest === undefined) return wallet;
    return latest.kind === "fee" ? this.#accounts.fee : this.#accounts.tax;
  }
}

/** Debits one custody event from the ledger, exactly once (by its reference, journaled); "unlisted" when Sen has no currency for its token (yet). */
export async function debitVaultCustody(catalog: MarketCatalog, trading: TradingService, d: VaultCustodyDebit): Promise<"debited" | "already" | "unlisted"> {
  const currency = currencyOfToken(catalog, d.token);
  if (!currency) return "unlisted";
  const applied = await trading.debitCustody({ accountId: d.wallet, currency, amount: d.amount, ref: d.ref, kind: d.kind, to: d.to, txHash: d.txHash });
  return applied ? "debited" : "already";
}
