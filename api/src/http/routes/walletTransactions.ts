import { z } from "zod/v4";
import { encodeFunctionData, erc20Abi, getAddress, parseAbi, type Address } from "viem";
import type { AppContext } from "../../context.ts";
import { ValidationError } from "../errors.ts";
import { decimalString, defineRoute, type Route } from "../route.ts";

const vaultAbi = parseAbi(["function deposit(address token, uint256 amount)", "function balanceOf(address token, address wallet) view returns (uint256)"]);

/**
 * Sen's own routes for the trader web app's wallet: the page settings it needs before sign-in,
 * what the wallet holds on chain (in the wallet and in the vault's custody), and the
 * transactions a deposit takes, encoded here with viem from the deployment's addresses and ABIs.
 *
 * Why the server encodes rather than the browser: the vault and token addresses and the ABI are
 * the gateway's (its deployment and catalogue), so the page cannot send tokens to an address it
 * was given by anything but this origin, and the browser needs no ABI encoder (no build step,
 * no vendored viem). The wallet still shows and signs each transaction itself.
 */
export function walletTransactionRoutes(ctx: AppContext): Route[] {
  const { catalog, format } = ctx;
  const chain = () => {
    if (!ctx.chain) throw new ValidationError("this gateway has no chain: deposits are credited by the operator");
    return ctx.chain;
  };
  const tokenOf = (currency: string): Address => {
    const c = catalog.currency(currency);
    if (!c) throw new ValidationError(`unknown currency ${currency}`);
    if (!c.token) throw new ValidationError(`${currency} has no token on chain`);
    return getAddress(c.token);
  };
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/sen/trader-settings",
      tag: "wallet",
      summary: "The trader app's settings: chain, onboarding page for a wallet without an e-ID, explorer link prefix",
      auth: "public",
      whileHalted: true,
      handler: () => ({ chainId: ctx.config.chainId, onboardingUrl: ctx.config.onboardingUrl, explorerTxUrl: ctx.config.explorerTxUrl ?? null, confirmOrderVnd: ctx.config.confirmOrderVnd, vault: ctx.chain?.contracts.SettlementVault ?? null }),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/sen/wallet",
      tag: "wallet",
      summary: "Per currency: the signed-in wallet's tokens in the wallet and in the vault's custody (what the vault holds for it on chain)",
      auth: "signedOrSession",
      permission: "General",
      handler: async ({ principal }) => {
        const { publicClient, contracts } = chain();
        const wallet = principal!.wallet;
        const items = await Promise.all(
          [...catalog.currencies.values()]
            .filter((c) => c.token)
            .map(async (c) => {
              const token = getAddress(c.token!);
              const [inWallet, inCustody] = await Promise.all([
                publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [wallet] }),
                publicClient.readContract({ address: contracts.SettlementVault, abi: vaultAbi, functionName: "balanceOf", args: [token, wallet] }),
              ]);
              return { currency: c.currency, token, wallet: format.amount(c.currency, inWallet), custody: format.amount(c.currency, inCustody) };
            }),
        );
        return { wallet, vault: contracts.SettlementVault, items };
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/sen/wallet/deposit-transactions",
      tag: "wallet",
      summary: "The transactions the wallet sends to deposit: ERC-20 approve of the vault, then vault.deposit",
      auth: "signedOrSession",
      permission: "General",
      body: z.object({ currency: z.string().min(1).max(12), amount: decimalString }).strict(),
      handler: ({ body, principal }) => {
        const { contracts } = chain();
        const token = tokenOf(body.currency);
        const amount = format.parseAmount("amount", body.amount, body.currency, false);
        if (amount <= 0n) throw new ValidationError("amount must be positive");
        const vault = contracts.SettlementVault;
        return {
          from: principal!.wallet,
          chainId: ctx.config.chainId,
          transactions: [
            { step: "approve", to: token, data: encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [vault, amount] }) },
            { step: "deposit", to: vault, data: encodeFunctionData({ abi: vaultAbi, functionName: "deposit", args: [token, amount] }) },
          ],
        };
      },
    }),
  ];
}
