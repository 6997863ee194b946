import { getAddress, parseAbiItem, type Address, type Hash, type PublicClient } from "viem";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { TradingService } from "../trading/tradingService.ts";

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
  txHash: Hash | null;
  /** The journaled reference that makes crediting idempotent. */
  ref: string;
};

/** What crediting one deposit did: "unlisted" when Sen has no currency for its token (yet). */
export type DepositOutcome = "credited" | "already" | "unlisted";

/** The vault's Deposited events in [fromBlock, toBlock], oldest first. */
export async function readVaultDeposits(
  client: Pick<PublicClient, "getLogs" | "getBlockNumber">,
  vault: Address,
  range: { fromBlock: bigint; toBlock?: bigint },
): Promise<VaultDeposit[]> {
  const logs = await client.getLogs({ address: vault, event: depositedEvent, fromBlock: range.fromBlock, toBlock: range.toBlock ?? (await client.getBlockNumber()) });
  const deposits: VaultDeposit[] = [];
  for (const log of logs) {
    const { depositId, wallet, token, amount } = log.args;
    // The vault refuses a zero deposit: one here credits nothing and is not worth waiting for.
    if (depositId === undefined || !wallet || !token || !amount) continue;
    deposits.push({
      depositId,
      wallet: wallet.toLowerCase(),
      token: getAddress(token),
      amount,
      blockNumber: log.blockNumber!,
      txHash: log.transactionHash,
      ref: `vault:${getAddress(vault)}:${depositId}`,
    });
  }
  return deposits;
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

/**
 * Credits the ledger with the settlement vault's Deposited events in [fromBlock, toBlock].
 * Exactly once per deposit (see creditVaultDeposit). A deposit of a token the vault lists and
 * Sen does not (governance lists a token in the vault before Sen's listing flow accepts it) is
 * returned in `unlisted`, not dropped: the caller must credit it once Sen lists the token, since
 * it will not read that block again.
 */
export async function creditVaultDeposits(
  client: Pick<PublicClient, "getLogs" | "getBlockNumber">,
  vault: Address,
  catalog: MarketCatalog,
  trading: TradingService,
  range: { fromBlock: bigint; toBlock?: bigint },
): Promise<{ credited: number; unlisted: VaultDeposit[] }> {
  let credited = 0;
  const unlisted: VaultDeposit[] = [];
  for (const d of await readVaultDeposits(client, vault, range)) {
    const outcome = await creditVaultDeposit(catalog, trading, d);
    if (outcome === "credited") credited++;
    else if (outcome === "unlisted") unlisted.push(d);
  }
  return { credited, unlisted };
}
