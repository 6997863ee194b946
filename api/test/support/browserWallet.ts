import type { Page } from "playwright-core";
import type { Hex, LocalAccount } from "viem";

/**
 * Puts an EIP-1193 wallet into the page that answers with `account` and signs with its key;
 * any other method is refused. personal_sign receives the message as 0x-hex of its UTF-8
 * bytes, as MetaMask does.
 */
export async function injectSigningWallet(page: Page, account: Pick<LocalAccount, "address" | "signMessage">): Promise<void> {
  await page.exposeFunction("senTestSign", (hex: Hex) => account.signMessage({ message: { raw: hex } }));
  await page.addInitScript({
    content: `window.ethereum = { request: async ({ method, params }) => {
        if (method === "eth_requestAccounts" || method === "eth_accounts") return [${JSON.stringify(account.address)}];
        if (method === "personal_sign") return window.senTestSign(params[0]);
        throw new Error("unsupported method " + method);
      } };`,
  });
}
