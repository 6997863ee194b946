import { apiPost, setToken } from "./api.ts";

/** An EIP-1193 provider, as MetaMask injects it. */
export type Eip1193Provider = { request(args: { method: string; params?: unknown[] }): Promise<unknown> };

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

export class WalletError extends Error {
  override name = "WalletError" as const;
  readonly key: "noWallet" | "noAccount";
  constructor(key: "noWallet" | "noAccount") {
    super(key);
    this.key = key;
  }
}

/** UTF-8 text as 0x-hex: what MetaMask expects for personal_sign (it shows the decoded text). */
function utf8Hex(s: string): string {
  let out = "0x";
  for (const b of new TextEncoder().encode(s)) out += b.toString(16).padStart(2, "0");
  return out;
}

export type Session = { token: string; wallet: string; role: "applicant" | "officer"; expiresAt: number };

/** Sign-In with Ethereum (EIP-4361) against the issuer: its challenge, personal_sign, a session. */
export async function signIn(): Promise<Session> {
  const eth = window.ethereum;
  if (!eth) throw new WalletError("noWallet");
  const accounts = (await eth.request({ method: "eth_requestAccounts" })) as string[];
  const address = accounts?.[0];
  if (!address) throw new WalletError("noAccount");
  const { message } = await apiPost<{ message: string }>("/siwe/nonce", { address });
  const signature = (await eth.request({ method: "personal_sign", params: [utf8Hex(message), address] })) as string;
  const session = await apiPost<Session>("/siwe/login", { message, signature });
  setToken(session.token);
  return session;
}
