import { apiGet, apiPost, endSession, setToken } from "./api.ts";
import type { Session } from "./types.ts";

/** An EIP-1193 provider, as MetaMask injects it. */
export type Eip1193Provider = { request(args: { method: string; params?: unknown[] }): Promise<unknown> };

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

export class WalletError extends Error {
  override name = "WalletError" as const;
}

/** UTF-8 text as 0x-hex: what MetaMask expects for personal_sign (it shows the decoded text). */
function utf8Hex(s: string): string {
  let out = "0x";
  for (const b of new TextEncoder().encode(s)) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Sign-In with Ethereum through the browser wallet: the gateway's challenge (EIP-4361), signed
 * with personal_sign, exchanged for a session. The token is kept in memory only.
 */
export async function signIn(): Promise<Session & { address: string }> {
  const eth = window.ethereum;
  if (!eth) throw new WalletError("No Ethereum wallet found in this browser (install MetaMask or a compatible wallet).");
  const accounts = (await eth.request({ method: "eth_requestAccounts" })) as string[];
  const address = accounts?.[0];
  if (!address) throw new WalletError("The wallet shared no account.");
  return siweLogin(address, async (message) => (await eth.request({ method: "personal_sign", params: [utf8Hex(message), address] })) as string);
}

/**
 * The gateway's challenge for `address`, signed by `sign` (EIP-191 personal message), exchanged
 * for a session. Whoever signs, the gateway verifies the signature the same way.
 */
export async function siweLogin(address: string, sign: (message: string) => Promise<string>): Promise<Session & { address: string }> {
  const challenge = await apiGet<{ message: string }>(`/api/v1/sen/auth/challenge?address=${encodeURIComponent(address)}`);
  const signature = await sign(challenge.message);
  const session = await apiPost<Session>("/api/v1/sen/auth/login", { message: challenge.message, signature });
  return { ...session, address };
}

/**
 * Forgets the session. `atGateway`: the user signed out, so the gateway ends the session too
 * (best effort, the token is forgotten here either way); a page that only forgets it leaves
 * the token valid for the rest of its life to anyone who copied it. Not for a session the
 * gateway already refused or that expired.
 */
export function signOut(options: { atGateway?: boolean } = {}): Promise<void> {
  const ended = options.atGateway ? endSession("/api/v1/sen/auth/logout") : Promise.resolve();
  setToken(null);
  return ended;
}
