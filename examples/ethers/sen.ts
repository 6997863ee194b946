import { readFileSync } from "node:fs";
import { Contract, JsonRpcProvider, Network, Wallet } from "ethers";

/**
 * Sen for integrators who use ethers v6 rather than viem: Sign-In with Ethereum, a deposit
 * into the settlement vault, a withdrawal back to the same wallet. Each step is a function
 * (run.ts chains them; Sen's tests call them against a real chain and gateway).
 *
 * Amounts are integers in the token's smallest unit (VND, GOLD and RIVER have 0 decimals),
 * sent to the API as decimal strings: never floats.
 */

/** What run.ts and the gateway read from deployments/<chainId>.json. */
export type Deployment = { chainId: number; contracts: { SettlementVault: string } & Record<string, string> };

export function readDeployment(file: string): Deployment {
  return JSON.parse(readFileSync(file, "utf8")) as Deployment;
}

/**
 * A wallet on the chain Sen settles on. Two settings matter on a fast (e.g. local, automining)
 * chain: ethers caches identical RPC answers for 250 ms, which would hand the deposit the
 * approval's already-used nonce, so no cache; and it polls every 4 s by default, here 500 ms.
 */
export function connectWallet(rpcUrl: string, privateKey: string, chainId: number): Wallet {
  const provider = new JsonRpcProvider(rpcUrl, Network.from(chainId), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 500 });
  return new Wallet(privateKey, provider);
}

/** One call to Sen's REST API; unwraps the KuCoin envelope `{ code: "200000", data }` and throws its error otherwise. */
export async function senApi<T>(url: string, method: "GET" | "POST", path: string, options: { token?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(options.body === undefined ? {} : { "content-type": "application/json" }), ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const envelope = (await res.json()) as { code: string; data: T; msg?: string; senCode?: string };
  if (envelope.code !== "200000") throw new Error(`${method} ${path}: ${envelope.code} ${envelope.senCode ?? ""} ${envelope.msg ?? ""}`);
  return envelope.data;
}

/**
 * Sign-In with Ethereum: the gateway's EIP-4361 message, signed with the wallet's key
 * (personal_sign). Only a wallet with a verified e-ID on chain gets a session; the token is
 * the `Authorization: Bearer` credential (it can also create KuCoin-style API keys).
 */
export async function signIn(url: string, wallet: Wallet): Promise<{ token: string; accountId: string }> {
  const challenge = await senApi<{ message: string }>(url, "GET", `/api/v1/sen/auth/challenge?address=${wallet.address}`);
  const signature = await wallet.signMessage(challenge.message);
  return senApi(url, "POST", "/api/v1/sen/auth/login", { body: { message: challenge.message, signature } });
}

/** The ERC-20 contract of `currency`, as the gateway lists it. */
export async function tokenAddress(url: string, currency: string): Promise<string> {
  const currencies = await senApi<Array<{ currency: string; contractAddress: string | null }>>(url, "GET", "/api/v3/currencies");
  const address = currencies.find((c) => c.currency === currency)?.contractAddress;
  if (!address) throw new Error(`Sen lists no token for ${currency}`);
  return address;
}

const ERC20_ABI = ["function approve(address spender, uint256 amount) returns (bool)", "function balanceOf(address owner) view returns (uint256)"];
const VAULT_ABI = [
  "function deposit(address token, uint256 amount)",
  "function balanceOf(address token, address wallet) view returns (uint256)",
  "event Deposited(uint256 indexed depositId, address indexed wallet, address indexed token, uint256 amount)",
];

/**
 * Moves `amount` of `token` from the wallet into the settlement vault: approve, then deposit.
 * The gateway credits the trading account from the vault's Deposited event (exactly once, by
 * its depositId), so there is nothing to tell the API. Returns that depositId.
 */
export async function depositToVault(wallet: Wallet, vaultAddress: string, token: string, amount: bigint): Promise<bigint> {
  const erc20 = new Contract(token, ERC20_ABI, wallet);
  const vault = new Contract(vaultAddress, VAULT_ABI, wallet);
  await (await erc20.approve(vaultAddress, amount)).wait();
  const receipt = await (await vault.deposit(token, amount)).wait();
  for (const log of receipt.logs) {
    const event = vault.interface.parseLog(log);
    if (event?.name === "Deposited") return event.args.depositId as bigint;
  }
  throw new Error("the deposit emitted no Deposited event");
}

/** The account's total balance of `currency` (available + held), in the token's smallest unit. */
export async function balance(url: string, token: string, currency: string): Promise<bigint> {
  const rows = await senApi<Array<{ currency: string; balance: string }>>(url, "GET", `/api/v1/accounts?currency=${currency}`, { token });
  return BigInt(rows[0]?.balance ?? "0");
}

/** Polls `check` until it returns a value (not undefined); throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Withdraws to the signed-in wallet (the only address Sen pays out to); returns the withdrawal's id. */
export async function requestWithdrawal(url: string, token: string, wallet: string, currency: string, amount: bigint): Promise<string> {
  const r = await senApi<{ withdrawalId: string }>(url, "POST", "/api/v3/withdrawals", { token, body: { currency, toAddress: wallet, amount: amount.toString() } });
  return r.withdrawalId;
}

export type WithdrawalView = { id: string; currency: string; amount: string; status: "PROCESSING" | "SUCCESS" | "FAILURE"; walletTxId: string | null; remark: string };

/** Waits until the vault has paid the withdrawal (SUCCESS, with its transaction hash); throws if it failed. */
export async function waitUntilPaid(url: string, token: string, withdrawalId: string, timeoutMs = 60_000): Promise<WithdrawalView> {
  const w = await waitFor(
    `withdrawal ${withdrawalId}`,
    async () => {
      const { items } = await senApi<{ items: WithdrawalView[] }>(url, "GET", "/api/v1/withdrawals", { token });
      const mine = items.find((i) => i.id === withdrawalId);
      return mine && mine.status !== "PROCESSING" ? mine : undefined;
    },
    timeoutMs,
  );
  if (w.status !== "SUCCESS") throw new Error(`withdrawal ${withdrawalId} failed: ${w.remark}`);
  return w;
}
