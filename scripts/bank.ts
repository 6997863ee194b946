/**
 * The payment bank, simulated on a local chain: fiat arriving at the bank mints VND tokens to
 * the customer's verified wallet; a fiat pay-out burns them. On a real deployment this is the
 * partner bank's system holding PAYMENT_BANK_ROLE.
 *
 *   node scripts/bank.ts deposit  <wallet> <amount-in-dong> [--ref BANKREF]
 *   node scripts/bank.ts withdraw <wallet> <amount-in-dong> [--ref BANKREF]
 * Options: --rpc (default http://127.0.0.1:$SEN_RPC_PORT or 8545, `npm start`'s chain), --deployment
 * (default data/dev/deployments/31337.json). The bank's key is the Hardhat test account that
 * holds PAYMENT_BANK_ROLE in that deployment (#3 by default).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createPublicClient, createWalletClient, getAddress, http, keccak256, parseAbi, toHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { contractErrorsAbi, describeChainError, revertOf } from "../api/src/chain/contractErrors.ts";
import { readDeploymentFile } from "../api/src/chain/deploymentFile.ts";
import { readEnv } from "../api/src/config/env.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rpc: { type: "string", default: `http://127.0.0.1:${readEnv().SEN_RPC_PORT ?? 8545}` },
    deployment: { type: "string", default: "data/dev/deployments/31337.json" },
    ref: { type: "string" },
  },
});
const [action, walletArg, amountArg] = positionals;
if (!["deposit", "withdraw"].includes(action ?? "") || !walletArg || !/^\d+$/.test(amountArg ?? "")) {
  console.error(readFileSync(new URL(import.meta.url), "utf8").split("\n").slice(5, 9).join("\n"));
  process.exit(2);
}
const deployment = readDeploymentFile(values.deployment);
const { roles } = JSON.parse(readFileSync(values.deployment, "utf8")) as { roles?: { paymentBank?: string } };
const bank = Array.from({ length: 20 }, (_, addressIndex) => mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex })).find(
  (account) => account.address.toLowerCase() === roles?.paymentBank?.toLowerCase(),
);
if (!bank) {
  console.error(`the payment bank of ${values.deployment} (${roles?.paymentBank ?? "not recorded"}) is not a Hardhat test account: this script only simulates the bank locally`);
  process.exit(2);
}
const transport = http(values.rpc);
const wallet = createWalletClient({ account: bank, transport });
const reader = createPublicClient({ transport });
const abi = parseAbi([
  "function mint(address to, uint256 amount, bytes32 bankReference)",
  "function burn(address from, uint256 amount, bytes32 bankReference)",
  "function balanceOf(address) view returns (uint256)",
]);
/** The token's refusals of a pay-out, in the words a bank operator needs: the error alone names no cause. */
const PAYOUT_REFUSALS: Record<string, string> = {
  ERC7943CannotSend: "the wallet is address-frozen, or its e-ID is revoked, expired or unbound: its đồng are not paid out",
  ERC7943InsufficientUnfrozenBalance: "more than the wallet holds outside its frozen amount, the last figure: frozen đồng are not paid out",
  TokenIsPaused: "the VND token is paused: nothing is paid out until the agent unpauses it",
};
const to = getAddress(walletArg);
const amount = BigInt(amountArg!);
const ref = keccak256(toHex(values.ref ?? `sen-bank-${action}-${Date.now()}`));
let hash: `0x${string}`;
try {
  hash = await wallet.writeContract({
    address: deployment.contracts.CashToken,
    abi: [...abi, ...contractErrorsAbi],
    functionName: action === "deposit" ? "mint" : "burn",
    args: [to, amount, ref],
    chain: null,
  });
} catch (err) {
  const why = action === "withdraw" ? PAYOUT_REFUSALS[revertOf(err)?.name ?? ""] : undefined;
  console.error(`${action} refused: ${describeChainError(err)}${why ? ` (${why})` : ""}`);
  process.exit(1);
}
const receipt = await reader.waitForTransactionReceipt({ hash });
const balance = await reader.readContract({ address: deployment.contracts.CashToken, abi, functionName: "balanceOf", args: [to] });
console.log(`${action === "deposit" ? "minted" : "burned"} ${amount} đồng ${action === "deposit" ? "to" : "from"} ${to} (bank ref ${ref}) in tx ${hash}, status ${receipt.status}; wallet holds ${balance} VNDS`);
