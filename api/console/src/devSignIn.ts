import { siweLogin, WalletError } from "./wallet.ts";
import type { Session } from "./types.ts";

/** What the gateway says about development sign-in (GET /compliance/dev-signin.json; see consoleAssets.ts). */
export type DevSignInInfo =
  | { enabled: false }
  | { enabled: true; chainId: number; accounts: Array<{ role: "compliance" | "operator"; address: string; hardhatIndex: number; privateKey: string }> };

export async function devSignInInfo(): Promise<DevSignInInfo> {
  try {
    const res = await fetch("./dev-signin.json", { cache: "no-store" });
    return res.ok ? ((await res.json()) as DevSignInInfo) : { enabled: false };
  } catch {
    return { enabled: false };
  }
}

/**
 * Development sign-in without a wallet extension: the page signs the gateway's SIWE challenge
 * with a pasted development key, using ethers' browser build, which the gateway serves only
 * while development sign-in is on (a local chain). The gateway verifies the signature exactly as
 * it verifies a wallet's; the key never leaves the page.
 */
export async function signInWithKey(privateKey: string): Promise<Session & { address: string }> {
  const key = privateKey.trim();
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key)) throw new WalletError("A development private key is 64 hex digits (0x…).");
  const { Wallet } = await import("ethers");
  const wallet = new Wallet(key.startsWith("0x") ? key : `0x${key}`);
  return siweLogin(wallet.address, (message) => wallet.signMessage(message));
}
