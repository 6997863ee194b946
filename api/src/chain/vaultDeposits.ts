import { getAddress, parseAbiItem, type Address, type PublicClient } from "viem";
import type { MarketCatalog } from "../markets/marketCatalog.ts";
import type { TradingService } from "../trading/tradingService.ts";

export const depositedEvent = parseAbiItem(
  "event Deposited(uint256 indexed depositId, address indexed wallet, address indexed token, uint256 amount)",
);

/**
 * Credits the ledger with the settlement vault's Deposited events in [fromBlock, toBlock].
 * Exactly once per deposit: the journaled reference is the vault's sequential depositId, so
 * running it again (or after a restart) credits nothing twice. Returns how many were new.
 */
export async function creditVaultDeposits(
  client: Pick<PublicClient, "getLogs" | "getBlockNumber">,
  vault: Address,
  catalog: MarketCatalog,
  trading: TradingService,
  range: { fromBlock: bigint; toBlock?: bigint },
): Promise<number> {
  const currencyOf = new Map<string, string>();
  for (const c of catalog.currencies.values()) if (c.token) currencyOf.set(getAddress(c.token), c.currency);
  const logs = await client.getLogs({ address: vault, event: depositedEvent, fromBlock: range.fromBlock, toBlock: range.toBlock ?? (await client.getBlockNumber()) });
  let credited = 0;
  for (const log of logs) {
    const { depositId, wallet, token, amount } = log.args;
    const currency = currencyOf.get(getAddress(token!));
    if (!currency || amount === undefined || amount === 0n) continue;
    if (await trading.deposit(wallet!.toLowerCase(), currency, amount, `vault:${getAddress(vault)}:${depositId}`)) credited++;
  }
  return credited;
}
