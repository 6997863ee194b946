import { decodeFunctionData, getAddress, parseAbi, toHex, type Address, type Hash, type Hex } from "viem";
import { settlementVaultAbi } from "../../src/chain/settlementBatcher.ts";
import type { TradingCore } from "../../src/trading/tradingCore.ts";
import type { ChainFixture } from "./chainFixture.ts";
import type { kucoinClient } from "./kucoinClient.ts";

type Client = ReturnType<typeof kucoinClient>;
export type Trader = { wallet: Address; client: Client };

/** The vault's events the gateway's records are checked against. */
export const vaultEventsAbi = parseAbi([
  "event TradeSettled(uint256 indexed tradeId, address indexed seller, address indexed buyer, address asset, uint256 assetAmount, uint256 cashAmount, uint256 sellerFee, uint256 buyerFee, uint256 sellerTax)",
  "event Deposited(uint256 indexed depositId, address indexed wallet, address indexed token, uint256 amount)",
  "event Withdrawn(uint256 indexed withdrawalId, address indexed wallet, address indexed token, uint256 amount)",
]);

const TOKEN_OF = { VND: "CashToken", GOLD: "GoldToken", RIVER: "RiverToken" } as const;
type Currency = keyof typeof TOKEN_OF;
const CURRENCIES = Object.keys(TOKEN_OF) as Currency[];

/** Each trader's total (available + holds) per currency as the gateway reports it, keyed "wallet currency". */
export async function ledgerBooks(traders: Trader[]): Promise<Record<string, bigint>> {
  const books: Record<string, bigint> = {};
  for (const { wallet, client } of traders) {
    const r = await client<Array<{ currency: string; balance: string }>>("GET", "/api/v1/accounts");
    if (r.code !== "200000") throw new Error(`GET /api/v1/accounts for ${wallet}: ${r.code} ${r.msg}`);
    for (const c of CURRENCIES) books[`${getAddress(wallet)} ${c}`] = BigInt(r.data.find((row) => row.currency === c)!.balance);
  }
  return books;
}

/** The same keys from the SettlementVault's own books. */
export async function vaultBooks(chain: ChainFixture, wallets: Address[]): Promise<Record<string, bigint>> {
  const books: Record<string, bigint> = {};
  for (const wallet of wallets) for (const c of CURRENCIES) books[`${getAddress(wallet)} ${c}`] = await chain.vaultBalance(TOKEN_OF[c], wallet);
  return books;
}

/**
 * The exchange's own VND books in the ledger (available + held): its fee account (`sen:fees`)
 * and the income tax it withheld from sales (`sen:tax`).
 */
export function ledgerHouseBooks(core: Pick<TradingCore, "ledger" | "feeAccount" | "taxAccount">): { fees: bigint; tax: bigint } {
  const total = (account: string) => {
    const b = core.ledger.balance(account, "VND");
    return b.available + b.hold;
  };
  return { fees: total(core.feeAccount), tax: total(core.taxAccount) };
}

/** The same from the vault: the books of its fee account and of its tax account, which those ledger accounts mirror. */
export async function vaultHouseBooks(chain: ChainFixture): Promise<{ fees: bigint; tax: bigint }> {
  const { feeAccount, taxAccount } = chain.deployment.roles;
  return { fees: await chain.vaultBalance("CashToken", feeAccount), tax: await chain.vaultBalance("CashToken", taxAccount) };
}

/** Every TradeSettled event of the vault: trade id (as the gateway writes it) and the transaction that moved it. */
export async function settledOnChain(chain: ChainFixture): Promise<Array<{ tradeId: string; txHash: Hash }>> {
  const logs = await chain.publicClient.getContractEvents({ address: chain.deployment.contracts.SettlementVault, abi: vaultEventsAbi, eventName: "TradeSettled", fromBlock: 0n });
  return logs.map((l) => ({ tradeId: toHex(l.args.tradeId!, { size: 12 }).slice(2), txHash: l.transactionHash }));
}

/** Every TradeSettled event with what it moved, to compare with the gateway's fills of that trade id. */
export async function tradeSettledEvents(chain: ChainFixture) {
  const logs = await chain.publicClient.getContractEvents({ address: chain.deployment.contracts.SettlementVault, abi: vaultEventsAbi, eventName: "TradeSettled", fromBlock: 0n });
  return logs.map((l) => {
    const a = l.args as Required<typeof l.args>;
    return {
      tradeId: toHex(a.tradeId, { size: 12 }).slice(2),
      txHash: l.transactionHash,
      seller: a.seller,
      buyer: a.buyer,
      asset: a.asset,
      assetAmount: a.assetAmount,
      cashAmount: a.cashAmount,
      sellerFee: a.sellerFee,
      buyerFee: a.buyerFee,
      sellerTax: a.sellerTax,
    };
  });
}

/** Every Withdrawn event of the vault (payouts actually made). */
export async function withdrawnOnChain(chain: ChainFixture): Promise<Array<{ withdrawalId: string; wallet: Address; amount: bigint; txHash: Hash }>> {
  const logs = await chain.publicClient.getContractEvents({ address: chain.deployment.contracts.SettlementVault, abi: vaultEventsAbi, eventName: "Withdrawn", fromBlock: 0n });
  return logs.map((l) => ({ withdrawalId: l.args.withdrawalId!.toString(), wallet: l.args.wallet!, amount: l.args.amount!, txHash: l.transactionHash }));
}

/** Calls to the vault waiting in the node's mempool (mining stopped), decoded. */
export async function pendingVaultCalls(chain: ChainFixture): Promise<Array<{ hash: Hash; functionName: string; args: readonly unknown[] }>> {
  const block = (await chain.connection.provider.request({ method: "eth_getBlockByNumber", params: ["pending", true] })) as { transactions: Array<{ hash: Hash; to: Address | null; input: Hex }> };
  const vault = getAddress(chain.deployment.contracts.SettlementVault);
  return block.transactions
    .filter((t) => t.to && getAddress(t.to) === vault)
    .map((t) => {
      const call = decodeFunctionData({ abi: settlementVaultAbi, data: t.input });
      return { hash: t.hash, functionName: call.functionName, args: call.args ?? [] };
    });
}
